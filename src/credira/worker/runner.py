"""The worker loop: claim due callouts up to a concurrency limit, run each as a task, renew
the leases of running ones, and stop gracefully."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from credira.channel.voice.registry import VoiceProviders
from credira.db.engine import create_sessionmaker
from credira.email import repository as email_repository
from credira.email.dispatch import EmailDispatcher
from credira.email_template.render import DEFAULT_LIMITS, Limits
from credira.event import repository as event_repository
from credira.invoice.importer import ImportJobs
from credira.kit.clock import Clock
from credira.kit.ids import new_token
from credira.llm.analysis import CallAnalyst
from credira.llm.settings import LLMSettings
from credira.plan.tasks import PlanSteps
from credira.worker import repository
from credira.worker.classifier import Classifier
from credira.worker.email_part import CalloutEmails
from credira.worker.execute import Executor, Observer
from credira.worker.repository import Claimed

if TYPE_CHECKING:
    from credira.webhook.deliver import Deliverer

log = structlog.get_logger("credira.worker")

PRUNE_FIRST_AFTER = 60.0  # seconds after start: not in the rush of a start
PRUNE_EVERY = 600.0


class Prune(Protocol):
    async def __call__(self, session: AsyncSession, before: datetime, *, batch: int) -> int:
        """Delete up to ``batch`` rows made before ``before``; how many."""
        ...


@dataclass(frozen=True)
class Pruning:
    """Rows the worker deletes once they are older than ``keep``, ``batch`` per transaction."""

    name: str
    prune: Prune
    keep: timedelta
    batch: int


CLAIM_BATCH = 100  # callouts (emails) claimed in one transaction at most


class Runs(Protocol):
    """What runs a claimed callout (the ``Executor``; a benchmark may put another in)."""

    async def run(self, claimed: Claimed) -> None: ...

    async def close(self, within: float = 10.0) -> None: ...


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_token()[-6:]}"


# How often a worker nobody woke looks for due plan steps and import jobs.
PLANS_POLL_SECONDS = 1.0


class Worker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        voice: VoiceProviders,
        *,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        emails: EmailDispatcher | None = None,
        recordings_dir: Path | None = None,
        worker_id: str | None = None,
        concurrency: int = 100,
        poll_seconds: float = 0.2,
        lease_seconds: float = 30.0,
        grace_seconds: float = 20.0,
        heartbeat_engine: AsyncEngine | None = None,
        analysis_processes: int = 0,
        llm: LLMSettings | None = None,
        render_limits: Limits = DEFAULT_LIMITS,
        public_url: str = "",
        event_retention: timedelta = timedelta(days=30),
        pruning: Sequence[Pruning] = (),
        observer: Observer | None = None,
        webhooks: Deliverer | None = None,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        # Delivers the event log to webhook endpoints, a loop beside the callouts' own.
        self.webhooks = webhooks
        self.sessionmaker = sessionmaker
        # The heartbeat gets a connection of its own when given one (disposed when the worker
        # stops): with every pooled connection busy running callouts, waiting for one could
        # outlast the lease and hand the callouts to another worker.
        self._heartbeat_engine = heartbeat_engine
        self._heartbeat_sessions = (
            create_sessionmaker(heartbeat_engine) if heartbeat_engine is not None else sessionmaker
        )
        self.clock = clock
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.grace_seconds = grace_seconds
        self.emails = emails
        self.observer = observer
        self.executor: Runs = Executor(
            sessionmaker,
            clock,
            voice,
            self.worker_id,
            read_sessionmaker=read_sessionmaker,
            emails=(
                CalloutEmails(sessionmaker, clock, emails, self.worker_id, render_limits)
                if emails
                else None
            ),
            recordings_dir=recordings_dir,
            poll_seconds=min(poll_seconds, 0.1),
            classifier=Classifier(analysis_processes),
            # With an LLM set, answered calls are also classified by it (credira.llm.analysis).
            analyst=CallAnalyst(llm) if llm is not None else None,
            # Half the running callouts at most in one transaction: with all of them in each,
            # they would move in lockstep, every stage waiting for the one before (in the worker
            # benchmark, 100 in one batch gave 450 callouts/s, batches of 50 gave 640-710/s).
            batch_size=max(1, min(CLAIM_BATCH, concurrency // 2)),
            render_limits=render_limits,
            public_url=public_url,
            observer=observer,
        )
        self.event_retention = event_retention
        # Other rows that outlive their use, pruned with the events (the API's idempotency
        # records: given by the composition root, as the worker knows nothing of the API).
        self.pruning = (
            Pruning(
                "events", event_repository.prune, event_retention, event_repository.PRUNE_BATCH
            ),
            *pruning,
        )
        # Collection plans: the due steps' callouts, made before each sweep's claim.
        reads = read_sessionmaker or sessionmaker
        self.plans = PlanSteps(sessionmaker, clock, reads=reads)
        # Invoice imports (POST /v1/invoices/import): one job at a time, beside the callouts.
        self.imports = ImportJobs(sessionmaker, clock, self.worker_id, reads=reads)
        self._import: asyncio.Task[str | None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._new_work = False
        # While busy, claim when this many slots are free (or at the next poll), not one
        # claiming transaction per finished callout.
        self.batch = max(1, min(CLAIM_BATCH, concurrency // 10))
        self.claimed_total = 0

    def wake(self) -> None:
        """Look for due work now instead of at the next poll (new work was just written)."""
        self._new_work = True
        self._wakeup.set()
        if self.webhooks is not None:
            self.webhooks.wake()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker.started", worker_id=self.worker_id, concurrency=self.concurrency)
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        webhooks = (
            asyncio.create_task(self.webhooks.run(stop)) if self.webhooks is not None else None
        )
        try:
            loop = asyncio.get_running_loop()
            next_sweep = next_plans = 0.0
            more_emails = False
            while not stop.is_set():
                # Each poll (and whenever new work was written) sweeps for everything: due
                # callouts, callouts whose worker stopped, due emails. In between, slots freed
                # by finished callouts are refilled with due callouts only.
                woken = self._new_work
                sweep = woken or more_emails or loop.time() >= next_sweep
                self._new_work = False
                if sweep:
                    next_sweep = loop.time() + self.poll_seconds
                # Plan steps and import jobs (made by the API, which wakes the worker): at
                # most once a second otherwise, not at every sweep of a busy worker.
                if woken or loop.time() >= next_plans:
                    next_plans = loop.time() + max(PLANS_POLL_SECONDS, self.poll_seconds)
                    await self.plans.run_due()
                    if self._import is None or self._import.done():
                        self._import = asyncio.create_task(self.imports.run_due())
                claimed, full = await self._claim(abandoned=sweep)
                for item in claimed:
                    task = asyncio.create_task(self._execute(item))
                    self._running[item.callout_id] = task
                emails, more_emails = await self._claim_emails() if sweep else ([], False)
                for email_id in emails:
                    self._running[email_id] = asyncio.create_task(self._send(email_id))
                if (full or more_emails) and len(self._running) < self.concurrency:
                    continue  # there may be more due right now
                await self._idle(stop)
        finally:
            await self._drain()
            if webhooks is not None:
                stop.set()  # also when the loop above ended by an error
                await asyncio.gather(webhooks, return_exceptions=True)
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            if self._heartbeat_engine is not None:
                await self._heartbeat_engine.dispose()
            log.info("worker.stopped", worker_id=self.worker_id)

    async def _claim(self, *, abandoned: bool) -> tuple[list[Claimed], bool]:
        """Due callouts for the free slots (and abandoned ones), and whether there were as
        many as asked for."""
        want = min(self.concurrency - len(self._running), CLAIM_BATCH)
        if want <= 0:
            return [], False
        try:
            async with self.sessionmaker() as session:
                claimed = await repository.claim_due(
                    session, self.worker_id, self.clock.now(), self.lease, want, abandoned=abandoned
                )
        except (DBAPIError, OSError) as exc:
            log.warning("worker.claim_failed", error=str(exc)[:300])
            await asyncio.sleep(1.0)
            return [], False
        self.claimed_total += len(claimed)
        if self.observer is not None and claimed:
            self.observer.on_claimed([item.callout_id for item in claimed])
        return claimed, len(claimed) == want

    async def _claim_emails(self) -> tuple[list[str], bool]:
        want = min(self.concurrency - len(self._running), CLAIM_BATCH)
        if self.emails is None or want <= 0:
            return [], False
        try:
            async with self.sessionmaker() as session:
                claimed = await email_repository.claim_due(
                    session, self.worker_id, self.clock.now(), self.lease, want
                )
        except (DBAPIError, OSError) as exc:
            log.warning("worker.email_claim_failed", error=str(exc)[:300])
            return [], False
        return claimed, len(claimed) == want

    async def _send(self, email_id: str) -> None:
        assert self.emails is not None
        try:
            await self.emails.deliver(email_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker.email_crashed", email_id=email_id)
        finally:
            self._running.pop(email_id, None)
            self._wakeup.set()

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for the next poll, for new work, or for a batch of free slots."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll_seconds
        while not stop.is_set() and not self._new_work:
            if self.concurrency - len(self._running) >= self.batch and self._wakeup.is_set():
                break  # callouts finished: their slots are free for due work
            self._wakeup.clear()
            left = deadline - loop.time()
            if left <= 0:
                break
            waiters = [
                asyncio.ensure_future(self._wakeup.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            try:
                await asyncio.wait(waiters, timeout=left, return_when="FIRST_COMPLETED")
            finally:
                for waiter in waiters:
                    waiter.cancel()
        self._wakeup.clear()

    async def _execute(self, item: Claimed) -> None:
        try:
            await self.executor.run(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and another worker (or this one) takes the callout over.
            log.exception("worker.callout_crashed", callout_id=item.callout_id)
        finally:
            self._running.pop(item.callout_id, None)
            self._wakeup.set()

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = self.lease.total_seconds() / 3
        loop = asyncio.get_running_loop()
        next_prune = loop.time() + PRUNE_FIRST_AFTER
        while True:
            await asyncio.sleep(interval)
            if loop.time() >= next_prune:
                next_prune = loop.time() + PRUNE_EVERY
                await self.prune_events()
            ids = list(self._running)
            if not ids:
                continue
            try:
                until = self.clock.now() + self.lease
                async with self._heartbeat_sessions() as session:
                    await repository.renew_leases(session, self.worker_id, ids, until)
                    await email_repository.renew_leases(session, self.worker_id, ids, until)
            except (DBAPIError, OSError) as exc:
                log.warning("worker.heartbeat_failed", error=str(exc)[:300])

    async def prune_events(self) -> int:
        """Delete the events, and the other rows given in ``pruning``, past their retention
        period, a batch per transaction (several workers may do it at once: each deletes what
        is still there); how many in all."""
        total = 0
        for pruning in self.pruning:
            total += await self._prune(pruning)
        return total

    async def _prune(self, pruning: Pruning) -> int:
        total = 0
        before = self.clock.now() - pruning.keep
        try:
            while True:
                async with self.sessionmaker() as session:
                    deleted = await pruning.prune(session, before, batch=pruning.batch)
                    await session.commit()
                total += deleted
                if deleted < pruning.batch:
                    break
        except (DBAPIError, OSError) as exc:
            log.warning("prune.failed", rows=pruning.name, error=str(exc)[:300])
        if total:
            log.info("pruned", rows=pruning.name, count=total, before=str(before))
        return total

    async def _drain(self) -> None:
        """Let running callouts finish for the grace period, then hand the rest back."""
        if self._import is not None:
            # An import stopped between chunks is taken over from its last chunk.
            self._import.cancel()
            await asyncio.gather(self._import, return_exceptions=True)
        if self._running:
            log.info("worker.draining", running=len(self._running))
            await asyncio.wait(list(self._running.values()), timeout=self.grace_seconds)
        leftover = list(self._running.values())
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)
        await self.executor.close(within=self.grace_seconds)
        try:
            async with self.sessionmaker() as session:
                await repository.release_leases(session, self.worker_id, self.clock.now())
        except (DBAPIError, OSError) as exc:
            log.warning("worker.release_failed", error=str(exc)[:300])
