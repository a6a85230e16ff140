"""Reading and pruning the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.db.engine import json_text
from credira.models.event import Event


def _events_table() -> Table:
    table = Event.__table__
    assert isinstance(table, Table)
    return table


# The log's one hot write, many rows at once just before a commit. Each row is bound as the
# driver takes it (the snapshot already JSON, the instant as the database keeps it: SQLite's
# text in SQLAlchemy's storage format, an aware datetime for PostgreSQL's timestamptz), so a
# batch costs the driver's executemany and not SQLAlchemy's per-value type processing, which
# was about half of an event's cost in the worker's claim.
# An event waits for the webhook fan-out only when its account has an enabled endpoint, as
# the database sees it in the event's own transaction: the events of the many accounts with
# none are never read, marked or updated again (one index probe each, in the INSERT).
_INSERT = text(
    "INSERT INTO events (id, account_id, type, object_id, invoice_id, callout_id,"
    " created_time, data, webhooks_pending) VALUES (:id, :account_id, :type, :object_id,"
    " :invoice_id, :callout_id, :created_time, :data, EXISTS (SELECT 1 FROM webhook_endpoints"
    " WHERE webhook_endpoints.account_id = :endpoint_account AND webhook_endpoints.enabled))"
)


def append(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write the events, in one statement (called by the session just before it commits)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    for row in rows:
        row["endpoint_account"] = row["account_id"]  # (PostgreSQL types each use of one apart)
        row["data"] = json_text(row["data"])
        if sqlite:
            at: datetime = row["created_time"].astimezone(UTC)
            row["created_time"] = at.replace(tzinfo=None).isoformat(" ", "microseconds")
    session.execute(_INSERT, rows)


@dataclass(frozen=True)
class EventFilter:
    types: set[str]
    prefixes: set[str]
    object_id: str | None = None
    invoice_id: str | None = None
    created_after: datetime | None = None


def _conditions(account_id: str, where: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Event.account_id == account_id]
    if where.types or where.prefixes:
        wanted: list[ColumnElement[bool]] = []
        if where.types:
            wanted.append(Event.type.in_(sorted(where.types)))
        wanted.extend(Event.type.startswith(p, autoescape=True) for p in sorted(where.prefixes))
        conditions.append(or_(*wanted))
    if where.object_id is not None:
        conditions.append(Event.object_id == where.object_id)
    if where.invoice_id is not None:
        conditions.append(Event.invoice_id == where.invoice_id)
    if where.created_after is not None:
        conditions.append(Event.created_time > where.created_after)
    return conditions


async def list_events(
    session: AsyncSession,
    account_id: str,
    where: EventFilter,
    *,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Event], bool, int]:
    """The account's events, newest first; ``starting_after`` continues below that event.

    The log grows while it is read: the total and the newest event are read together first,
    and the page goes no further than that event, so the page and its total agree (two
    statements under READ COMMITTED would each see the commits made between them)."""
    conditions = _conditions(account_id, where)
    counted = await session.execute(
        select(func.count(), func.max(Event.id)).select_from(Event).where(*conditions)
    )
    total, newest = counted.one()
    if not total:
        return [], False, 0
    query = select(Event).where(*conditions, Event.id <= newest)
    if starting_after is not None:
        query = query.where(Event.id < starting_after)
    rows = list((await session.scalars(query.order_by(Event.id.desc()).limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit, int(total)


async def get(session: AsyncSession, account_id: str, event_id: str) -> Event | None:
    return await session.scalar(
        select(Event).where(Event.id == event_id, Event.account_id == account_id)
    )


async def history(session: AsyncSession, account_id: str, object_id: str) -> list[Event]:
    """One object's events, oldest first."""
    query = (
        select(Event)
        .where(Event.account_id == account_id, Event.object_id == object_id)
        .order_by(Event.id)
    )
    return list((await session.scalars(query)).all())


PRUNE_BATCH = 10_000


async def prune(session: AsyncSession, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete up to ``batch`` events created before ``before`` (oldest first); how many."""
    oldest = (
        select(Event.id)
        .where(Event.created_time < before)
        .order_by(Event.created_time)
        .limit(batch)
        .scalar_subquery()
    )
    result: Any = await session.execute(delete(Event).where(Event.id.in_(oldest)))
    return int(result.rowcount or 0)
