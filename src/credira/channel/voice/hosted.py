"""What the adapters of the real providers (Twilio, Telnyx, Vapi, Retell) share.

Each attempt's side at the provider is a ``provider_calls`` row, keyed by the attempt's
idempotency key and merged from the provider's callbacks (``reported.merge``). Following a call
reads its row (concurrent reads in one query), and when callbacks have stopped coming for
``poll_seconds`` asks the provider's API once per ``poll_seconds``. What differs per provider is
its API: how a call is read there (``_poll``) and what its row shows the worker (``_shown``).
"""

from __future__ import annotations

import time as monotonic_time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.channel.voice import provider_call_repository as repository
from credira.channel.voice.port import FINAL_STATUSES, ProviderCall, VoiceProviderError
from credira.channel.voice.reported import Report, merge
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.models import ProviderCall as CallRow
from credira.provider.service import ProviderAccount

AccountLookup = Callable[[str], Awaitable[ProviderAccount | None]]


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
        """What the worker following the call sees of its row."""
        raise NotImplementedError

    async def _read(self, provider_call_ids: list[str]) -> list[CallRow | None]:
        async with self._read_sessionmaker() as session:
            rows = await repository.by_provider_ids(session, self.name, provider_call_ids)
        found = {row.provider_call_id: row for row in rows}
        return [found.get(call_id) for call_id in provider_call_ids]
