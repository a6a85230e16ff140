"""The few statements that differ between SQLite and PostgreSQL, behind named helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, select, text, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return str(session.get_bind().dialect.name)


def insert_ignore(
    session: AsyncSession,
    table: Any,
    key: list[str],
    values: dict[str, Any] | list[dict[str, Any]] | None = None,
) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` of one row or several, in the session's
    dialect. Without ``values``, the rows are given to ``execute``: for a varying number of
    rows, one statement compiled once (a multi-row ``VALUES`` is compiled for each count)."""
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    statement = insert(table) if values is None else insert(table).values(values)
    return statement.on_conflict_do_nothing(index_elements=key)


def claimable_ids(
    session: AsyncSession, candidates: Select[Any], id_column: Any
) -> ColumnElement[bool]:
    """``id_column IN (candidates)``, with the candidate rows locked and skipped by concurrent
    claimers on PostgreSQL (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers anyway.

    Not ``IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` on PostgreSQL: it may run such a
    subquery again for each outer row, each run skipping the rows the last one locked, so one
    claim could take several times ``n`` rows. A materialized CTE runs exactly once.
    """
    if dialect_name(session) == "postgresql":
        chosen = (
            candidates.with_for_update(skip_locked=True)
            .cte("chosen")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        result: ColumnElement[bool] = id_column.in_(select(chosen.c[0]))
        return result
    result = id_column.in_(candidates.scalar_subquery())
    return result


async def take_in_turn(
    session: AsyncSession, parts: Sequence[Select[Any]], limit: int
) -> list[Any]:
    """The ids of up to ``limit`` claimable rows, the ``parts`` (each a select of one id
    column with its own order and limit) taken in turn: a claim in priority order as one index
    range per priority, each read in the index's order and left as soon as the claim is full
    (both databases run a ``UNION ALL``'s parts in order and stop at its ``LIMIT``). On
    PostgreSQL the rows are locked until the transaction ends and skipped by concurrent
    claimers (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers anyway.

    As one select ordered by priority, then time, PostgreSQL fetches and sorts every due row
    for each claim: tens of milliseconds with 50,000 due. Even by parts it does so when its
    statistics put a few more rows in a part than the claim takes (they are stale after a
    bulk load), so on PostgreSQL sorting is disabled for the claiming transaction
    (``prefer_index_order``): only the index can give the order then.
    """
    if dialect_name(session) == "postgresql":
        parts = [part.with_for_update(skip_locked=True) for part in parts]
    body = union_all(*(select(part.subquery().c[0]) for part in parts)).limit(limit)
    return list((await session.scalars(body)).all())


async def prefer_index_order(session: AsyncSession) -> None:
    """For the rest of the transaction, no plan sorts rows that an index gives in order
    (PostgreSQL's ``enable_sort``; SQLite plans without statistics).

    A sort no index can spare (over several statuses, say) still runs, costed at
    ``disable_cost``: JIT compilation is turned off with it, or that cost makes PostgreSQL
    compile the small claiming statement on every run (tens of milliseconds each)."""
    if dialect_name(session) == "postgresql":
        await session.execute(
            text("SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true)")
        )
