"""The few statements that differ between SQLite and PostgreSQL, behind named helpers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select
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
