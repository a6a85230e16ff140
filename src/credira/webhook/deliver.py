"""The deliverer: the worker's loop that turns the event log into signed POSTs.

1. **Fan-out.** Events are written with ``webhooks_pending`` set. The deliverer takes the
   oldest pending ones (locked, skipped by other workers), makes one delivery row per
   subscribed enabled endpoint (unique per endpoint and event, so a repeat is ignored) and
   clears the marker, in one transaction. Events commit in any order across processes; a
   marker is found whenever it commits, where "events after the last id seen" would miss a
   late one.
2. **Claim.** Due deliveries are leased like callouts (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL), oldest due first. A worker sends at most ``per_endpoint`` at a time to one
   endpoint and holds as many more waiting for a free slot (started without another claim),
   so a slow or dead endpoint takes a bounded share; a delivery waits while an earlier one of
   the same object to the same endpoint is in flight (here or, by its lease, anywhere).
3. **Send** (``sender.py``) with the Standard Webhooks headers, and **record** each attempt:
   outcomes are written together every few milliseconds (group commit), each only while the
   lease is still this worker's. A worker killed at any point loses nothing: an unwritten
   attempt's lease runs out and the delivery is sent again (at least once, same
   ``webhook-id``).

Retries follow ``CREDIRA_WEBHOOK_RETRY_SECONDS`` (Svix's schedule) with jitter, or
``Retry-After`` on 429/502/503/504; 410 disables the endpoint; an endpoint failing without a
success for ``CREDIRA_WEBHOOK_DISABLE_AFTER_HOURS`` is disabled, with a ``webhook.disabled``
event.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from credira.event.service import to_read as event_read
from credira.event.types import matcher
from credira.kit.clock import Clock, format_time
from credira.kit.ids import new_ordered_id
from credira.secret.crypto import Cipher, DecryptionFailed
from credira.webhook import policy, repository, state
from credira.webhook.repository import Claimed, PendingEvent, Target
from credira.webhook.sender import Sender
from credira.webhook.stats import COUNTERS
from credira.webhook.types import DisabledReason
from credira.webhook.view import payload

log = structlog.get_logger("credira.webhook")

FAN_OUT_BATCH = 500
CLAIM_BATCH = 200
ATTEMPTS_KEPT = 50
FLUSH_EVERY = 0.02  # seconds between writes of recorded attempts
IDLE_MAX_SECONDS = 0.5  # the longest wait between two looks that found nothing
FLUSH_MAX = 500
FLUSH_TRIES = 20  # a flush failing this many times in a row drops its rows
PRUNE_FIRST_AFTER = 60.0  # seconds after start
PRUNE_EVERY = 600.0


@dataclass(frozen=True)
class _Ready:
    item: Claimed
    body: bytes | None  # None: the event was pruned from the log
    target: Target


class Deliverer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        cipher: Cipher,
        sender: Sender,
        *,
        worker_id: str,
        schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000),
        timeout: float = 15.0,
        concurrency: int = 200,
        per_endpoint: int = 20,
        disable_after_hours: float = 120.0,
        poll_seconds: float = 0.1,
        grace_seconds: float = 5.0,
        retention: timedelta = timedelta(days=30),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.cipher = cipher
        self.sender = sender
        self.worker_id = worker_id
        self.schedule = schedule
        self.timeout = timeout
        # Held here for up to two rounds of an endpoint's slots, then sent: the lease covers it.
        self.lease = timedelta(seconds=timeout * 3 + 30)
        self.concurrency = concurrency
        self.per_endpoint = per_endpoint
        self.disable_after_hours = disable_after_hours
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        self.retention = retention
        self._in_flight: Counter[str] = Counter()  # deliveries per endpoint
        self._waiting: defaultdict[str, list[_Ready]] = defaultdict(list)  # claimed, not sent
        self._objects: set[tuple[str, str]] = set()  # (endpoint, object) in flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        # How long the next idle wait lasts: the poll interval after work or a wake-up, then
        # twice as long after each look that found nothing, up to IDLE_MAX_SECONDS. A worker
        # whose accounts have no endpoint looks a few times a second, not ten.
        self._idle_wait = poll_seconds
        self._written: list[dict[str, Any]] = []
        self._succeeded: set[str] = set()
        self._failed: set[str] = set()
        self._gone: set[str] = set()
        self._flush_failures = 0
        self._matchers: dict[tuple[str, ...], tuple[set[str], set[str]]] = {}
        self._signers: dict[str, Webhook] = {}

    def wake(self) -> None:
        """Look now instead of at the next poll (events or a retry were just committed)."""
        self._idle_wait = self.poll_seconds
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        flusher = asyncio.create_task(self._flush_loop())
        loop = asyncio.get_running_loop()
        next_prune = loop.time() + PRUNE_FIRST_AFTER
        try:
            while not stop.is_set():
                if loop.time() >= next_prune:
                    next_prune = loop.time() + PRUNE_EVERY
                    await self.prune()
                more = await self.fan_out() >= FAN_OUT_BATCH
                more = await self._claim_and_send() or more
                if more:
                    self._idle_wait = self.poll_seconds
                else:
                    await self._idle(stop)
                    self._idle_wait = min(2 * self._idle_wait, IDLE_MAX_SECONDS)
        finally:
            await self._drain()
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self.flush()
            try:
                async with self.sessionmaker() as session:
                    await repository.release(session, self.worker_id, self.clock.now())
            except (DBAPIError, OSError) as exc:
                log.warning("webhook.release_failed", error=str(exc)[:300])
            await self.sender.aclose()

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self._wakeup.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=self._idle_wait, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wakeup.clear()

    async def prune(self) -> int:
        """Delete the finished deliveries older than the event log's retention; how many."""
        total = 0
        before = self.clock.now() - self.retention
        try:
            while True:
                async with self.sessionmaker() as session:
                    deleted = await repository.prune(session, before)
                    await session.commit()
                total += deleted
                if deleted < repository.PRUNE_BATCH:
                    break
        except (DBAPIError, OSError) as exc:
            log.warning("webhook.prune_failed", error=str(exc)[:300])
        return total

    # -- fan-out ---------------------------------------------------------------------------

    async def fan_out(self) -> int:
        """Make the deliveries of one batch of pending events; how many events it took."""
        now = self.clock.now()
        try:
            async with self.sessionmaker() as session:
                events = await repository.pending_events(session, FAN_OUT_BATCH)
                if not events:
                    return 0
                endpoints = await repository.enabled_endpoints(
                    session, {e.account_id for e in events}
                )
                rows = self._deliveries_of(events, endpoints, now)
                await repository.add_deliveries(session, rows)
                await repository.fanned_out(session, [e.id for e in events])
                await session.commit()
        except (DBAPIError, OSError) as exc:
            log.warning("webhook.fan_out_failed", error=str(exc)[:300])
            await asyncio.sleep(1.0)
            return 0
        COUNTERS["events_fanned_out"] += len(events)
        COUNTERS["deliveries_made"] += len(rows)
        return len(events)

    def _deliveries_of(
        self,
        events: list[PendingEvent],
        endpoints: list[tuple[str, str, list[str]]],
        now: datetime,
    ) -> list[dict[str, Any]]:
        by_account: dict[str, list[tuple[str, set[str], set[str]]]] = defaultdict(list)
        for endpoint_id, account_id, types in endpoints:
            key = tuple(types)
            if key not in self._matchers:
                self._matchers[key] = matcher(list(types))
            by_account[account_id].append((endpoint_id, *self._matchers[key]))
        rows = []
        for event in events:
            for endpoint_id, exact, prefixes in by_account.get(event.account_id, ()):
                if event.type in exact or any(event.type.startswith(p) for p in prefixes):
                    rows.append(
                        state.new_delivery(
                            id=new_ordered_id("delivery"),
                            account_id=event.account_id,
                            endpoint_id=endpoint_id,
                            event_id=event.id,
                            event_type=event.type,
                            object_id=event.object_id,
                            body=None,
                            # Due since it happened: oldest due first is event order.
                            next_attempt_time=min(event.created_time, now),
                            created_time=now,
                            updated_time=now,
                        )
                    )
        return rows

    # -- claim and send --------------------------------------------------------------------

    async def _claim_and_send(self) -> bool:
        """Claim due deliveries for the free places and start them; whether the claim was
        full. A worker holds up to ``2 * per_endpoint`` of one endpoint's deliveries: as many
        in flight, the rest waiting here for the next free slot (no claim in between)."""
        want = min(2 * self.concurrency - self.held, CLAIM_BATCH)
        if want <= 0:
            return False
        now = self.clock.now()
        cap = 2 * self.per_endpoint
        busy = {e for e in self._in_flight.keys() | self._waiting.keys() if self._held(e) >= cap}
        try:
            async with self.sessionmaker() as session:
                claimed = await repository.claim_due(
                    session, self.worker_id, now, self.lease, want, busy
                )
                if not claimed:
                    return False
                kept, surplus = self._fit(claimed, cap)
                if surplus:
                    await repository.unlease(session, self.worker_id, surplus)
                targets = await repository.targets(session, {c.endpoint_id for c in kept})
                for endpoint_id in {c.endpoint_id for c in kept} - targets.keys():
                    # Disabled (or deleted) since the claim's read: its deliveries wait.
                    ids = [c.id for c in kept if c.endpoint_id == endpoint_id]
                    await repository.park(session, endpoint_id, ids)
                wanted = [c.event_id for c in kept if c.body is None]
                events = await repository.events(session, wanted) if wanted else {}
                await session.commit()
        except (DBAPIError, OSError) as exc:
            log.warning("webhook.claim_failed", error=str(exc)[:300])
            await asyncio.sleep(1.0)
            return False
        bodies: dict[str, bytes | None] = {}  # one event's body, whatever its endpoints
        for item in kept:
            target = targets.get(item.endpoint_id)
            if target is not None:
                if item.event_id not in bodies or item.body is not None:
                    bodies[item.event_id] = self._body(item, events)
                self._waiting[item.endpoint_id].append(_Ready(item, bodies[item.event_id], target))
        for endpoint_id in {c.endpoint_id for c in kept}:
            self._dispatch(endpoint_id)
        return len(claimed) == want

    @property
    def held(self) -> int:
        return sum(self._in_flight.values()) + sum(len(w) for w in self._waiting.values())

    def _held(self, endpoint_id: str) -> int:
        return self._in_flight[endpoint_id] + len(self._waiting.get(endpoint_id, ()))

    def _fit(self, claimed: list[Claimed], cap: int) -> tuple[list[Claimed], list[str]]:
        """What this worker keeps (up to ``cap`` held per endpoint) and the rest, handed back
        at once."""
        kept: list[Claimed] = []
        surplus: list[str] = []
        taken: Counter[str] = Counter()
        for item in claimed:  # in event order
            if self._held(item.endpoint_id) + taken[item.endpoint_id] >= cap:
                surplus.append(item.id)
            else:
                taken[item.endpoint_id] += 1
                kept.append(item)
        return kept, surplus

    def _dispatch(self, endpoint_id: str) -> None:
        """Start the endpoint's waiting deliveries while it has free slots, in event order,
        none while an earlier one of its object is in flight."""
        waiting = self._waiting.get(endpoint_id)
        while waiting and self._in_flight[endpoint_id] < self.per_endpoint:
            index = next(
                (
                    i
                    for i, ready in enumerate(waiting)
                    if (endpoint_id, ready.item.object_id) not in self._objects
                ),
                None,
            )
            if index is None:
                break
            ready = waiting.pop(index)
            self._in_flight[endpoint_id] += 1
            self._objects.add((endpoint_id, ready.item.object_id))
            task = asyncio.create_task(self._run(ready))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not waiting:
            self._waiting.pop(endpoint_id, None)

    @staticmethod
    def _body(item: Claimed, events: dict[str, Any]) -> bytes | None:
        if item.body is not None:
            return item.body.encode("utf-8")
        event = events.get(item.event_id)
        if event is None:
            return None  # pruned from the log meanwhile
        return payload(event.type, format_time(event.created_time), event_read(event))

    async def _run(self, ready: _Ready) -> None:
        item = ready.item
        try:
            await self._send(item, ready.body, ready.target)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is attempted again.
            log.exception("webhook.delivery_crashed", delivery_id=item.id)
        finally:
            self._objects.discard((item.endpoint_id, item.object_id))
            self._in_flight[item.endpoint_id] -= 1
            if self._in_flight[item.endpoint_id] <= 0:
                del self._in_flight[item.endpoint_id]
            self._dispatch(item.endpoint_id)
            if item.endpoint_id not in self._waiting:
                self._wakeup.set()  # room for more of this endpoint: claim now, not at the poll

    def _signatures(self, target: Target, msg_id: str, at: datetime, body: bytes) -> str:
        secrets = [target.secret]
        if target.previous_secret and target.previous_expires and target.previous_expires > at:
            secrets.append(target.previous_secret)
        signatures = []
        for encrypted in secrets:
            signer = self._signers.get(encrypted)
            if signer is None:
                if len(self._signers) > 10_000:
                    self._signers.clear()
                signer = self._signers[encrypted] = Webhook(
                    self.cipher.decrypt(encrypted).decode("ascii")
                )
            signatures.append(signer.sign(msg_id, at, body))
        return " ".join(signatures)

    async def _send(self, item: Claimed, body: bytes | None, target: Target | None) -> None:
        now = self.clock.now()
        if target is None:
            return  # the endpoint was deleted meanwhile, its deliveries with it
        if body is None:
            outcome = policy.Outcome(None, 0, error="the event is no longer in the event log")
            after = policy.Next(None)
        else:
            try:
                signature = self._signatures(target, item.event_id, now, body)
            except DecryptionFailed:
                # Another key than the API's (CREDIRA_ENCRYPTION_KEY must be shared).
                outcome = policy.Outcome(None, 0, error="cannot decrypt the signing secret")
            else:
                headers = {
                    "webhook-id": item.event_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": signature,
                }
                outcome = await self.sender.send(target.url, headers, body, now)
            after = policy.after(outcome, len(item.attempts) + 1, self.schedule, now)
        attempt = {
            "time": format_time(now),
            "status_code": outcome.status_code,
            "latency_ms": outcome.latency_ms,
            "response": outcome.response,
            "error": outcome.error,
        }
        attempts = [*item.attempts, attempt][-ATTEMPTS_KEPT:]
        values = state.attempted(after.retry_at, outcome.succeeded, attempts, self.clock.now())
        self._written.append({"delivery_id": item.id, "worker_id": self.worker_id, **values})
        COUNTERS["attempts"] += 1
        if outcome.succeeded:
            COUNTERS["delivered"] += 1
            self._succeeded.add(item.endpoint_id)
        else:
            COUNTERS["failed_attempts"] += 1
            if after.retry_at is None:
                COUNTERS["gave_up"] += 1
            (self._gone if after.gone else self._failed).add(item.endpoint_id)
        if not outcome.succeeded:
            log.info(
                "webhook.attempt_failed",
                delivery_id=item.id,
                endpoint_id=item.endpoint_id,
                status_code=outcome.status_code,
                error=outcome.error,
            )

    # -- recording -------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await self.flush()
            except Exception:
                # Not the database being away (flush keeps those): rows it cannot write.
                # Dropped, so that they hold back nothing else; their leases run out and
                # they are attempted again.
                log.exception("webhook.record_dropped")

    async def flush(self) -> None:
        """Write the recorded attempts and what they say of their endpoints, together."""
        if not (self._written or self._gone or self._failed or self._succeeded):
            return
        written, self._written = self._written[:FLUSH_MAX], self._written[FLUSH_MAX:]
        gone, self._gone = self._gone, set()
        failed, self._failed = self._failed - self._succeeded, set()
        succeeded, self._succeeded = self._succeeded, set()
        now = self.clock.now()
        try:
            async with self.sessionmaker() as session:
                await repository.write_attempts(session, written)
                if succeeded:
                    await repository.endpoint_succeeded(session, succeeded)
                disable = {e: DisabledReason.GONE for e in gone}
                if failed:
                    for endpoint_id, since in await repository.endpoint_failed(
                        session, failed, now
                    ):
                        if policy.should_disable(since, now, self.disable_after_hours):
                            disable.setdefault(endpoint_id, DisabledReason.FAILING)
                for endpoint_id, reason in sorted(disable.items()):
                    endpoint = await repository.lock_endpoint(session, endpoint_id)
                    if endpoint is not None and endpoint.enabled:
                        state.disable(session, endpoint, reason, now)
                        await repository.park(session, endpoint_id)
                        COUNTERS["disabled"] += 1
                        log.info("webhook.disabled", endpoint_id=endpoint_id, reason=reason.value)
                await session.commit()
            self._flush_failures = 0
        except (DBAPIError, OSError) as exc:
            self._flush_failures += 1
            if self._flush_failures >= FLUSH_TRIES:
                self._flush_failures = 0
                raise  # the same rows failing again and again: dropped by the loop
            # Kept for the next flush; the leases outlast a short outage.
            log.warning("webhook.record_failed", error=str(exc)[:300])
            self._written = written + self._written
            self._gone |= gone
            self._failed |= failed
            self._succeeded |= succeeded
            await asyncio.sleep(0.5)

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.grace_seconds)
        leftover = list(self._tasks)
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)
