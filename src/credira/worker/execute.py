"""Running one claimed callout: its email part, then its call's phases, each in a module of
its own: decide under the rules and write the attempt ahead (``decide``), dial idempotently and
follow the call to its end (``follow``), record the outcome and its effects (``conclude``).

The runs of concurrent callouts share the deciding and the concluding transactions (batches of
``GroupCommit``, never two callouts of one invoice in a batch); each batch is one transaction,
begun and committed here, at the batch's edge.

Every step can be interrupted (a crash, a SIGKILL) and resumed by another worker: the attempt
row is committed before the provider is asked to dial, and the provider dedupes on the
attempt's idempotency key, so resuming never dials twice.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from credira.channel.voice.port import ProviderCall
from credira.channel.voice.registry import VoiceProviders
from credira.email_template.render import DEFAULT_LIMITS, Limits
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.llm.analysis import CallAnalyst
from credira.metrics.events import claim_lateness
from credira.transcript import Analysis
from credira.worker.classifier import Classifier
from credira.worker.conclude import Concluding, Ended
from credira.worker.decide import Attempt, Deciding
from credira.worker.email_part import CalloutEmails
from credira.worker.follow import Following
from credira.worker.repository import Claimed

__all__ = ["Attempt", "Ended", "Executor", "Observer"]

log = structlog.get_logger("credira.worker")

T = TypeVar("T")
R = TypeVar("R")


class Observer(Protocol):
    """What a worker tells whoever measures it (the benchmark). Called on the worker's event
    loop: keep each call short."""

    def on_claimed(self, callout_ids: Sequence[str]) -> None:
        """Callouts claimed, right after the claiming transaction committed."""

    def on_batch(self, stage: str, size: int, seconds: float) -> None:
        """A deciding (``decide``) or concluding (``conclude``) transaction of ``size``
        callouts took ``seconds``."""

    def on_run(self, callout_id: str, seconds: float, stages: Mapping[str, float]) -> None:
        """A callout's run took ``seconds``, of which ``stages`` (``dial``: dialling and
        following the call; ``analyse``: classifying its transcript)."""


class Executor:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        voice: VoiceProviders,
        worker_id: str,
        *,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        emails: CalloutEmails | None = None,
        recordings_dir: Path | None = None,
        poll_seconds: float = 0.1,
        classifier: Classifier | None = None,
        analyst: CallAnalyst | None = None,
        batch_size: int = 100,
        render_limits: Limits = DEFAULT_LIMITS,
        public_url: str = "",
        observer: Observer | None = None,
    ) -> None:
        self.emails = emails
        self.clock = clock
        self.worker_id = worker_id
        self.sessionmaker = sessionmaker
        self.observer = observer
        self.classifier = classifier or Classifier()
        self.deciding = Deciding(
            sessionmaker,
            clock,
            worker_id,
            render_limits=render_limits,
            # The base of the URLs in the call events' data (recording, transcript).
            public_url=public_url,
        )
        self.following = Following(
            sessionmaker,
            read_sessionmaker or sessionmaker,
            clock,
            voice,
            poll_seconds=poll_seconds,
            batch_size=batch_size,
            public_url=public_url,
        )
        self.concluding = Concluding(
            sessionmaker,
            clock,
            voice,
            classifier=self.classifier,
            analyst=analyst,
            recordings_dir=recordings_dir,
            public_url=public_url,
        )
        # Decisions of concurrent callouts share transactions; two about one invoice never do.
        # Up to ``batch_size`` at once: when it is less than the callouts running, they go
        # through in several waves, one being decided while another is dialled or concluded.
        self._deciding = GroupCommit(
            self._timed("decide", self.decide),
            max_size=batch_size,
            key=lambda claimed: claimed.invoice_id,
        )
        self._concluding = GroupCommit(
            self._timed("conclude", self.conclude),
            max_size=batch_size,
            key=lambda e: e.attempt.invoice_id,
        )

    async def close(self, within: float = 10.0) -> None:
        """Finish the decisions and conclusions being written (the callouts whose runs were
        cancelled and that were still waiting are left out of them)."""
        for group in (self._deciding, self._concluding):
            await group.close(within)
        await self.following.close(within)
        await self.classifier.close(within)
        if self.concluding.analyst is not None:
            await self.concluding.analyst.aclose()

    async def run(self, claimed: Claimed) -> None:
        began = time.perf_counter()
        claim_lateness(self.clock.now(), claimed.due)
        stages = {"dial": 0.0, "analyse": 0.0}
        bound = log.bind(callout_id=claimed.callout_id, worker_id=self.worker_id)
        if self.emails is not None:
            await self.emails.run(claimed)
        attempt = await self._deciding.submit(claimed)
        if attempt is None:
            self._ran(claimed, began, stages)
            return
        bound.info("callout.attempt.dialling", call_id=attempt.call_id)
        dialling = time.perf_counter()
        result = await self.following.dial_and_follow(attempt)
        stages["dial"] = time.perf_counter() - dialling
        analysing = time.perf_counter()
        analysis = await self.analyse(attempt, result)
        stages["analyse"] = time.perf_counter() - analysing
        recording = await self.concluding.keep_recording(attempt, result)
        try:
            await self._concluding.submit(Ended(attempt, result, analysis, recording))
        except StaleDataError:
            # Someone changed the callout meanwhile (cancelled it, say): record the call only.
            log.info("callout.attempt.callout_changed", callout_id=attempt.callout_id)
            await self._concluding.submit(
                Ended(attempt, result, analysis, recording, call_only=True)
            )
        bound.info("callout.attempt.finished", call_id=attempt.call_id, status=result.status)
        self._ran(claimed, began, stages)

    def _ran(self, claimed: Claimed, began: float, stages: dict[str, float]) -> None:
        if self.observer is not None:
            self.observer.on_run(claimed.callout_id, time.perf_counter() - began, stages)

    # -- the batches, one transaction each (public for measuring them one by one) ------------

    async def decide(self, batch: list[Claimed]) -> list[Attempt | None]:
        """Decide a batch of claimed callouts (of distinct invoices) in one transaction."""
        return await self.deciding.batch(batch)

    async def analyse(self, attempt: Attempt, result: ProviderCall) -> Analysis | None:
        """Classify an answered call's transcript (outside any transaction)."""
        return await self.concluding.analyse(attempt, result)

    async def conclude(self, batch: list[Ended]) -> list[None]:
        """Record a batch of ended calls (of distinct invoices) in one transaction."""
        return await self.concluding.batch(batch)

    def _timed(
        self, stage: str, run: Callable[[list[T]], Awaitable[list[R]]]
    ) -> Callable[[list[T]], Awaitable[list[R]]]:
        async def timed(batch: list[T]) -> list[R]:
            if self.observer is None:
                return await run(batch)
            began = time.perf_counter()
            done = await run(batch)
            self.observer.on_batch(stage, len(batch), time.perf_counter() - began)
            return done

        return timed
