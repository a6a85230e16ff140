"""All SQL of the voice simulator's own table (``simulated_calls``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import insert_ignore
from credira.models import SimulatedCall


def _table() -> Table:
    table = SimulatedCall.__table__
    assert isinstance(table, Table)
    return table


async def insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Write the calls whose idempotency key is new; the provider call id of each written, by
    key (a key already there keeps its row)."""
    calls = _table()
    inserted = await session.execute(
        insert_ignore(session, calls, ["idempotency_key"]).returning(
            calls.c.idempotency_key, calls.c.provider_call_id
        ),
        rows,
    )
    return {key: call_id for key, call_id in inserted}


async def ids_by_key(session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
    """The provider call ids of the calls with these idempotency keys, by key."""
    found = await session.execute(
        select(SimulatedCall.idempotency_key, SimulatedCall.provider_call_id).where(
            SimulatedCall.idempotency_key.in_(keys)
        )
    )
    return {key: call_id for key, call_id in found}


async def by_provider_ids(
    session: AsyncSession, provider_call_ids: Sequence[str]
) -> list[SimulatedCall]:
    rows = await session.scalars(
        select(SimulatedCall).where(SimulatedCall.provider_call_id.in_(provider_call_ids))
    )
    return list(rows)


async def mark_cancelled(session: AsyncSession, provider_call_id: str, now: datetime) -> None:
    """The call's cancellation time, unless it was cancelled before."""
    await session.execute(
        update(SimulatedCall)
        .where(
            SimulatedCall.provider_call_id == provider_call_id,
            SimulatedCall.cancelled_time.is_(None),
        )
        .values(cancelled_time=now)
    )


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(SimulatedCall)) or 0)
