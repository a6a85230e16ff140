from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import insert_ignore
from credira.models import Suppression


def _key(channel: str, value: str) -> str:
    # Mailbox names are case-insensitive in practice at every provider: John@x and john@x are
    # one person, and an opt-out must hold for both.
    return value.lower() if channel == "email" else value


async def suppressed_among(
    session: AsyncSession, channel: str, pairs: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of the (account id, value) pairs are suppressed on ``channel``: one query over the
    suppressions' unique (account, channel, value) index. Values come back as given."""
    if not pairs:
        return set()
    keys: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for account_id, value in pairs:
        keys.setdefault((account_id, _key(channel, value)), []).append((account_id, value))
    rows = await session.execute(
        select(Suppression.account_id, Suppression.value).where(
            Suppression.account_id.in_({account_id for account_id, _ in keys}),
            Suppression.channel == channel,
            Suppression.value.in_({value for _, value in keys}),
        )
    )
    return {pair for a, v in rows for pair in keys.get((a, v), ())}


async def is_suppressed(session: AsyncSession, account_id: str, channel: str, value: str) -> bool:
    value = _key(channel, value)
    found = await session.scalar(
        select(Suppression.id).where(
            Suppression.account_id == account_id,
            Suppression.channel == channel,
            Suppression.value == value,
        )
    )
    return found is not None


async def suppress(
    session: AsyncSession,
    account_id: str,
    channel: str,
    value: str,
    *,
    reason: str,
    source: str | None,
    now: datetime,
) -> None:
    """Record an opt-out; recording the same one twice keeps the first."""
    value = _key(channel, value)
    await session.execute(
        insert_ignore(
            session,
            Suppression,
            ["account_id", "channel", "value"],
            {
                "account_id": account_id,
                "channel": channel,
                "value": value,
                "reason": reason,
                "source": source,
                "created_time": now,
            },
        )
    )
