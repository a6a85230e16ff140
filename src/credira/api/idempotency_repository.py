"""All SQL of the stored idempotent replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import IdempotencyRecord


async def get(session: AsyncSession, scope: str, key: str) -> IdempotencyRecord | None:
    return await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )


PURGE_BATCH = 10_000


async def purge_expired(
    session: AsyncSession, before: datetime, *, batch: int = PURGE_BATCH
) -> int:
    """Delete up to ``batch`` records stored before ``before`` (oldest first); how many."""
    oldest = (
        select(IdempotencyRecord.scope, IdempotencyRecord.key)
        .where(IdempotencyRecord.created_time < before)
        .order_by(IdempotencyRecord.created_time)
        .limit(batch)
    )
    result = await session.execute(
        delete(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.scope, IdempotencyRecord.key).in_(oldest)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
