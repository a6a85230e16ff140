"""All SQL of ``provider_calls``: a real provider's side of each attempt, as Credira knows it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import insert_ignore
from credira.models import ProviderCall


def _table() -> Table:
    table = ProviderCall.__table__
    assert isinstance(table, Table)
    return table


async def insert_new(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Write the attempt's row unless its idempotency key has one; whether this wrote it."""
    calls = _table()
    written = await session.execute(
        insert_ignore(session, calls, ["idempotency_key"], row).returning(calls.c.idempotency_key)
    )
    return written.first() is not None


async def by_key(session: AsyncSession, key: str, *, lock: bool = False) -> ProviderCall | None:
    statement = select(ProviderCall).where(ProviderCall.idempotency_key == key)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def by_call_id(
    session: AsyncSession, provider: str, call_id: str, *, lock: bool = False
) -> ProviderCall | None:
    statement = select(ProviderCall).where(
        ProviderCall.call_id == call_id, ProviderCall.provider == provider
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def by_provider_ids(
    session: AsyncSession, provider: str, provider_call_ids: Sequence[str]
) -> list[ProviderCall]:
    rows = await session.scalars(
        select(ProviderCall).where(
            ProviderCall.provider == provider,
            ProviderCall.provider_call_id.in_(provider_call_ids),
        )
    )
    return list(rows)


async def claimed_ids(
    session: AsyncSession, provider: str, provider_call_ids: Sequence[str], *, besides: str
) -> set[str]:
    """Which of these provider calls already belong to an attempt other than ``besides`` (an
    idempotency key)."""
    found = await session.scalars(
        select(ProviderCall.provider_call_id).where(
            ProviderCall.provider == provider,
            ProviderCall.provider_call_id.in_(provider_call_ids),
            ProviderCall.idempotency_key != besides,
        )
    )
    return {call_id for call_id in found if call_id}
