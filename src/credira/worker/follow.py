"""Dialling an attempt once and following its call to a final status.

The attempt's row was committed before the provider is asked to dial, and the provider dedupes
on the attempt's idempotency key, or looks up the call of an attempt it was asked for before,
so a run resumed by another worker never dials twice; a start whose answer was lost keeps the
attempt open and is asked again until the provider can tell whether it placed the call. The
progress the provider reports is written as it comes, the calls being followed sharing
transactions; a callout finished meanwhile (cancelled, say) hangs its call up.
"""

from __future__ import annotations

import asyncio
import time as monotonic_time

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.call import state as call_state
from credira.call.state import CallStatus
from credira.callout.state import FINISHED
from credira.channel.voice.port import (
    CallStartUnclear,
    ProviderCall,
    VoiceProvider,
    VoiceProviderError,
)
from credira.channel.voice.registry import VoiceProviders
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.worker import repository
from credira.worker.calls import write_progress
from credira.worker.decide import Attempt

FOLLOW_MARGIN = 120.0  # seconds past the agent's max_duration before a call is abandoned
MIN_LOOK_SECONDS = 0.001  # a call's status is never asked again sooner than this
UNCLEAR_LOOK_SECONDS = 30.0  # the longest wait between lookups of a call whose start is unclear

log = structlog.get_logger("credira.worker")


class Following:
    """The dialling and following of one worker's calls."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        read_sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        voice: VoiceProviders,
        *,
        poll_seconds: float = 0.1,
        batch_size: int = 100,
        public_url: str = "",
    ) -> None:
        self.sessionmaker = sessionmaker
        self.read_sessionmaker = read_sessionmaker
        self.clock = clock
        self.voice = voice
        self.poll_seconds = poll_seconds
        self.public_url = public_url
        self._checking = GroupCommit(self._statuses, max_size=batch_size)
        self._updating = GroupCommit(
            self._update_calls, max_size=batch_size, key=lambda row: row["id"]
        )

    async def close(self, within: float = 10.0) -> None:
        for group in (self._checking, self._updating):
            await group.close(within)

    async def dial_and_follow(self, attempt: Attempt) -> ProviderCall:
        try:
            provider = self.voice.get(attempt.provider)
        except VoiceProviderError as exc:
            return ProviderCall("", "failed", error=str(exc))
        deadline = monotonic_time.monotonic() + attempt.max_duration + FOLLOW_MARGIN
        provider_call_id = attempt.provider_call_id
        if provider_call_id is None:
            started = await self._start(provider, attempt, deadline)
            if isinstance(started, ProviderCall):
                return started
            provider_call_id = started
            if not provider.dedupes:
                # A provider that dedupes on the idempotency key hands a resumed attempt the
                # same call back; the others need the id written before the call is followed.
                await self._update_call(attempt.call_id, provider_call_id=provider_call_id)
        last_status: str | None = None
        shown = CallStatus.INITIATED.value  # the status the call's row has
        hung_up = False
        next_cancel_check = monotonic_time.monotonic() + 1.0
        while True:
            try:
                current = await provider.get_call(provider_call_id)
            except VoiceProviderError as exc:
                if not exc.retryable:
                    return ProviderCall(provider_call_id, "failed", error=str(exc))
                await asyncio.sleep(self.poll_seconds * 5)
                continue
            if current.status != last_status:
                last_status = current.status
                if current.final:
                    return current
                # Progress only moves forward (a provider may repeat or reorder its reports).
                change = call_state.progress(shown, current.status)
                if change:
                    shown = change["status"]
                    await self._update_call(
                        attempt.call_id, **change, start_time=current.answered_time
                    )
            now = monotonic_time.monotonic()
            if not hung_up and (now > deadline or now > next_cancel_check):
                next_cancel_check = now + 1.0
                if now > deadline or await self._cancelled(attempt.callout_id):
                    hung_up = True
                    await provider.cancel_call(provider_call_id)
            await asyncio.sleep(self._until_next_look(current))

    async def _start(
        self, provider: VoiceProvider, attempt: Attempt, deadline: float
    ) -> str | ProviderCall:
        """The attempt's call id; or, when the provider refused, or could not tell for the
        whole time the call could have lasted whether it placed the call, a failed call.

        A start whose answer was lost is asked again (``CallStartUnclear``), and the provider
        looks the call up before it would dial again: an attempt is never dialled blindly."""
        while True:
            try:
                return await provider.start_call(attempt.request)
            except CallStartUnclear as exc:
                if monotonic_time.monotonic() > deadline:
                    return ProviderCall("", "failed", error=str(exc))
                log.info(
                    "callout.attempt.start_unclear",
                    callout_id=attempt.callout_id,
                    call_id=attempt.call_id,
                    problem=str(exc)[:200],
                )
                wait = (exc.look_again_at - self.clock.now()).total_seconds()
                await asyncio.sleep(min(max(wait, MIN_LOOK_SECONDS), UNCLEAR_LOOK_SECONDS))
            except VoiceProviderError as exc:
                return ProviderCall("", "failed", error=str(exc))

    def _until_next_look(self, current: ProviderCall) -> float:
        """The next poll, or sooner when the provider says when the status changes next."""
        if current.changes_at is None:
            return self.poll_seconds
        due = (current.changes_at - self.clock.now()).total_seconds()
        return min(self.poll_seconds, max(MIN_LOOK_SECONDS, due))

    async def _update_call(self, call_id: str, **values: object) -> None:
        """Write what the provider said of a call in progress (its id, its status)."""
        changes = {k: v for k, v in values.items() if v is not None}
        await self._updating.submit({**changes, "id": call_id, "updated_time": self.clock.now()})

    async def _update_calls(self, batch: list[dict[str, object]]) -> list[None]:
        """The progress of the calls being followed, written together (one call per batch at
        most: its updates keep their order)."""
        async with self.sessionmaker() as session:
            await write_progress(session, batch, self.public_url, self.clock.now())
            await session.commit()
        return [None] * len(batch)

    async def _cancelled(self, callout_id: str) -> bool:
        return await self._checking.submit(callout_id) in FINISHED

    async def _statuses(self, callout_ids: list[str]) -> list[str | None]:
        """The statuses of the callouts whose calls are being followed, read together (each
        call asks about its callout every second)."""
        async with self.read_sessionmaker() as session:
            found = await repository.statuses(session, callout_ids)
        return [found.get(callout_id) for callout_id in callout_ids]
