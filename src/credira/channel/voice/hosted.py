"""What the adapters of the real providers (Twilio, Telnyx, Vapi, Retell) share.

Each attempt's side at the provider is a ``provider_calls`` row, keyed by the attempt's
idempotency key and merged from the provider's callbacks (``reported.merge``). Following a call
reads its row (concurrent reads in one query), and when callbacks have stopped coming for
``poll_seconds`` asks the provider's API once per ``poll_seconds``. What differs per provider is
its API: how a call is read there (``_poll``) and what its row shows the worker (``_shown``).

Placing a call with a provider that cannot dedupe a repeated create (Vapi, Retell) is
``_place``: the row is written first, then the create is sent once. When its answer is lost
(a timeout, a connection dropped after the request went out, a gateway error), nobody can say
whether the provider placed the call: the attempt stays open and the call is looked up at the
provider by our call id in its metadata (``_find``), now and whenever ``start_call`` is asked
again, and adopted when found. Only once the provider would have listed it (``SETTLE_TIMEOUTS``
request timeouts after the create) does "not found" mean "not placed": the attempt then fails,
and the callout is retried as after any failed call, under the rules, with a new attempt.
"""

from __future__ import annotations

import asyncio
import time as monotonic_time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.channel.voice import provider_call_repository as repository
from credira.channel.voice.port import (
    FINAL_STATUSES,
    CallRequest,
    CallStartUnclear,
    ProviderCall,
    VoiceProviderError,
)
from credira.channel.voice.reported import Report, merge, shown
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.models import ProviderCall as CallRow
from credira.provider.service import ProviderAccount

log = structlog.get_logger("credira.voice")

AccountLookup = Callable[[str], Awaitable[ProviderAccount | None]]

# Lookups right after a create went unanswered, and then between later ones, in request timeouts.
LOOK_AGAIN = (0.5, 1.0, 2.0)
# How long (in request timeouts) after an unanswered create the provider may still show the call
# it was placing: a call not found by then was never placed.
SETTLE_TIMEOUTS = 10.0
# The row's error while its create is unanswered (cleared when the call is found).
UNANSWERED = "create unanswered: "
# Statuses that may come after the provider acted on the request (a gateway's, a crash's).
UNCLEAR_STATUSES = frozenset({500, 502, 504})


class Unanswered(Exception):
    """A create request that may have been acted on, with no answer saying so."""


def unanswered(exc: Exception) -> bool:
    """Whether a failed request may have reached the provider (anything but a connection that
    was never made)."""
    return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


class HostedCalls:
    """The part of a real provider's adapter that is the same for every provider."""

    name: str  # as in the voice agent's ``provider`` and the provider settings
    title: str  # as people write it

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        accounts: AccountLookup,
        *,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        timeout: float = 10.0,
        poll_seconds: float = 30.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._read_sessionmaker = read_sessionmaker or sessionmaker
        self._clock = clock
        self._accounts = accounts
        self._timeout = timeout
        self._poll_seconds = poll_seconds
        self._reading = GroupCommit(self._read)
        # When each call was last read from the provider's API (monotonic).
        self._polled: dict[str, float] = {}

    async def _account(self, account_id: str) -> ProviderAccount:
        account = await self._accounts(account_id)
        if account is None:
            raise VoiceProviderError(
                f"{self.title} is not configured for this account "
                f"(PUT /v1/account/providers/{self.name})",
                retryable=False,
            )
        return account

    async def _known_sid(self, key: str) -> str | None:
        """The provider's id of the attempt's call, once a callback or an answer named it."""
        async with self._read_sessionmaker() as session:
            row = await repository.by_key(session, key)
        return row.provider_call_id if row is not None else None

    async def _apply_key(self, key: str, report: Report) -> CallRow | None:
        """Merge ``report`` into the attempt's row (under its lock); the row as it now is."""
        async with self._sessionmaker() as session:
            row = await repository.by_key(session, key, lock=True)
            if row is not None and merge(row, report, self._clock.now()):
                await session.commit()
            return row

    # --- Our own agent's calls (Twilio and Telnyx relay them to it) ---

    async def _relayable(
        self, call_id: str
    ) -> tuple[CallRow, dict[str, Any], ProviderAccount] | None:
        """A conversation agent's call whose socket may still open: its row, its conversation
        (the context it was dialled with) and its account's credentials; None once its
        conversation was recorded (or for any other call)."""
        async with self._read_sessionmaker() as session:
            row = await repository.by_call_id(session, self.name, call_id)
        if row is None or row.conversation is None or "record" in row.conversation:
            return None
        account = await self._accounts(row.account_id)
        return None if account is None else (row, row.conversation, account)

    async def finished(self, call_id: str, record: dict[str, Any]) -> None:
        """Keep the conversation's record on the call's row (read when the call is final)."""
        async with self._sessionmaker() as session:
            row = await repository.by_call_id(session, self.name, call_id, lock=True)
            if row is not None and row.conversation is not None:
                row.conversation = {**row.conversation, "record": record}
                await session.commit()

    # --- Placing a call once, without the provider's help ---

    @property
    def _settle(self) -> timedelta:
        return timedelta(seconds=SETTLE_TIMEOUTS * self._timeout)

    def _attempt_row(self, request: CallRequest) -> dict[str, Any]:
        """The attempt's ``provider_calls`` row, written before the provider is asked."""
        now = self._clock.now()
        return {
            "idempotency_key": request.idempotency_key,
            "call_id": request.metadata.get("call_id", ""),
            "account_id": request.metadata.get("account_id", ""),
            "provider": self.name,
            "provider_call_id": None,
            "to_number": request.to_number,
            "from_number": request.from_number,
            "script": request.script,
            "language": request.language,
            "voice": request.voice,
            "reported": "initiated",
            "dial_time": now,
            "heard_time": now,
        }

    async def _place(
        self,
        account: ProviderAccount,
        request: CallRequest,
        create: Callable[[], Awaitable[str]],
    ) -> str:
        """The attempt's call: placed by ``create`` (which raises ``Unanswered`` when its
        answer is lost) unless it was asked before, in which case it is looked up first."""
        key = request.idempotency_key
        async with self._sessionmaker() as session:
            written = await repository.insert_new(session, self._attempt_row(request))
            await session.commit()
        if not written:
            known = await self._resume(account, key)
            if known is not None:
                return known
        try:
            return await create()
        except Unanswered as exc:
            return await self._after_unanswered(account, key, str(exc))

    async def _after_unanswered(self, account: ProviderAccount, key: str, problem: str) -> str:
        """Look the call up a few times; CallStartUnclear when the provider does not show it
        yet (``start_call`` is asked again later, and looks again)."""
        log.warning(f"{self.name}.call.create_unanswered", idempotency_key=key, problem=problem)
        await self._mark_unanswered(key, problem)
        for wait in (0.0, *LOOK_AGAIN):
            await asyncio.sleep(wait * self._timeout)
            try:
                found = await self._look_up(account, key)
            except VoiceProviderError as exc:
                log.warning(f"{self.name}.call.lookup_failed", error=str(exc)[:200])
                continue
            if found is not None:
                return found
        raise CallStartUnclear(
            f"{self.title} did not answer the call's creation ({problem}) and does not show "
            "the call yet",
            look_again_at=self._clock.now() + timedelta(seconds=LOOK_AGAIN[-1] * self._timeout),
        )

    async def _resume(self, account: ProviderAccount, key: str) -> str | None:
        """An attempt asked for before (an unanswered create, or a worker that died while
        dialling): its call, known or found at the provider; None when the provider shows none
        long after the last create and it may be dialled now; CallStartUnclear while that
        cannot be told yet; VoiceProviderError when an unanswered create placed nothing."""
        async with self._read_sessionmaker() as session:
            row = await repository.by_key(session, key)
        if row is None:
            raise VoiceProviderError("the attempt is no longer recorded", retryable=False)
        now = self._clock.now()
        look_again_at = now + timedelta(seconds=LOOK_AGAIN[-1] * self._timeout)
        try:
            found = await self._look_up(account, key)
        except VoiceProviderError as exc:
            raise CallStartUnclear(
                f"{self.title} could not be asked for the call: {exc}", look_again_at=look_again_at
            ) from None
        if found is not None:
            return found
        settled_at = row.dial_time + self._settle
        if now < settled_at:
            raise CallStartUnclear(
                f"{self.title} does not show the call yet",
                look_again_at=min(settled_at, look_again_at),
            )
        if row.error and row.error.startswith(UNANSWERED):
            raise VoiceProviderError(
                f"{self.title} did not place the call ({row.error.removeprefix(UNANSWERED)})"
            )
        # Interrupted before the create was sent, or before the provider acted on it: nothing
        # was placed, and the create is sent now, for this attempt.
        async with self._sessionmaker() as session:
            locked = await repository.by_key(session, key, lock=True)
            if locked is not None:
                locked.dial_time = now
                await session.commit()
        return None

    async def _look_up(self, account: ProviderAccount, key: str) -> str | None:
        """The attempt's call: named by a callback meanwhile, or found at the provider (and
        then adopted)."""
        async with self._read_sessionmaker() as session:
            row = await repository.by_key(session, key)
        if row is None:
            return None
        found = row.provider_call_id or await self._find(account, row)
        if found is None:
            return None
        if found == row.provider_call_id and not (row.error or "").startswith(UNANSWERED):
            return found
        # Adopted, and the create's problem forgotten (the row's error is the call's own).
        async with self._sessionmaker() as session:
            locked = await repository.by_key(session, key, lock=True)
            if locked is None:
                return None
            if locked.error and locked.error.startswith(UNANSWERED):
                locked.error = None
            merge(locked, Report(sid=found), self._clock.now())
            await session.commit()
            adopted = locked.provider_call_id or found
        log.info(f"{self.name}.call.found", call_id=row.call_id, provider_call_id=adopted)
        return adopted

    async def _mark_unanswered(self, key: str, problem: str) -> None:
        async with self._sessionmaker() as session:
            row = await repository.by_key(session, key, lock=True)
            if row is not None and row.provider_call_id is None and row.error is None:
                row.error = (UNANSWERED + problem)[:500]
                await session.commit()

    async def _find(self, account: ProviderAccount, row: CallRow) -> str | None:
        """The provider's id of the call it placed for the row's attempt (our call id in the
        call's metadata), None when it shows none; VoiceProviderError when it cannot be asked."""
        raise NotImplementedError

    # --- Following ---

    async def get_call(self, provider_call_id: str) -> ProviderCall:
        row = await self._reading.submit(provider_call_id)
        if row is None:
            raise VoiceProviderError(
                f"unknown {self.title} call {provider_call_id}", retryable=False
            )
        if self._wants_poll(row, provider_call_id):
            row = await self._poll(row) or row
        if self._final(row):
            self._polled.pop(provider_call_id, None)
        return self._shown(row)

    def _final(self, row: CallRow) -> bool:
        return row.reported in FINAL_STATUSES

    def _wants_poll(self, row: CallRow, provider_call_id: str) -> bool:
        """Whether to read the call from the provider's API now: callbacks stopped coming
        for a call not yet final, and it was not read in the last ``poll_seconds``."""
        if self._final(row):
            return False
        stale = (self._clock.now() - row.heard_time).total_seconds() >= self._poll_seconds
        return stale and self._poll_due(provider_call_id)

    def _poll_due(self, provider_call_id: str) -> bool:
        now = monotonic_time.monotonic()
        if now - self._polled.get(provider_call_id, 0.0) < self._poll_seconds:
            return False
        self._polled[provider_call_id] = now
        return True

    async def _poll(self, row: CallRow) -> CallRow | None:
        """Read the call from the provider's API and merge it; None when it could not be."""
        raise NotImplementedError

    def _shown(self, row: CallRow) -> ProviderCall:
        """What the worker following the call sees of its row (the provider's own transcript,
        unless the adapter makes its own)."""
        return shown(row)

    async def _read(self, provider_call_ids: list[str]) -> list[CallRow | None]:
        async with self._read_sessionmaker() as session:
            rows = await repository.by_provider_ids(session, self.name, provider_call_ids)
        found = {row.provider_call_id: row for row in rows}
        return [found.get(call_id) for call_id in provider_call_ids]
