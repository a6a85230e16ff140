from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import insert_ignore
from credira.models import Suppression


def _key(channel: str, value: str) -> str:
    # Mailbox names are case-insensitive in practice at every provider: John@x and john@x are
    # one person, and an opt-out must hold for both.
    return value.lower() if channel == "email" else value


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
