"""Claiming due work. The callout row is the schedule; a claim is a conditional update that
only one process can win (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.policy import RANKS
from credira.db.dialect import claimable_ids, prefer_index_order, take_in_turn
from credira.models import Callout


@dataclass(frozen=True)
class Claimed:
    callout_id: str
    invoice_id: str
    # Whether the callout's email part may still have work (emails enabled, not done) when
    # it was claimed: when not, its run can skip the email part without reading anything.
    email_pending: bool = True


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(Callout.status == "scheduled", Callout.run_at <= now)


def _abandoned(now: datetime) -> ColumnElement[bool]:
    return and_(Callout.status == "active", Callout.lease_expires < now)


async def claim_due(
    session: AsyncSession,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    abandoned: bool = True,
) -> list[Claimed]:
    """Take up to ``limit`` callouts whose worker stopped renewing its lease (unless not
    ``abandoned``), and due callouts up to the limit; returned urgent first, then the longest
    due.

    Each reads ``ix_callouts_due`` (status, priority_rank, run_at) one priority at a time,
    each in ``run_at`` order, and stops after ``limit`` rows however many callouts wait (the
    abandoned ones, among the running ones, which are few; then the due ones), then updates
    the rows it took by primary key.
    """
    await prefer_index_order(session)
    rows = await _take(session, _abandoned(now), worker_id, now, lease, limit) if abandoned else []
    if len(rows) < limit:
        rows += await _take(session, _due(now), worker_id, now, lease, limit - len(rows))
    await session.commit()
    rows.sort(key=lambda r: (r[2], r[3]))
    return [Claimed(r[0], r[1], r[4] and not r[5]) for r in rows]


async def _take(
    session: AsyncSession,
    claimable: ColumnElement[bool],
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[tuple[str, str, int, datetime, bool, bool]]:
    # Urgent first, then the longest due: one range of ``ix_callouts_due`` per priority.
    candidates = [
        select(Callout.id)
        .where(claimable, Callout.priority_rank == rank)
        .order_by(Callout.run_at)
        .limit(limit)
        for rank in RANKS
    ]
    picked = await take_in_turn(session, candidates, limit)
    if not picked:
        return []
    result = await session.execute(
        update(Callout)
        # By key only: the rows were claimable when taken and cannot have changed since (they
        # are locked on PostgreSQL, whose lock checked the condition against the row as it
        # was then; SQLite lets no other writer in), and with the condition here PostgreSQL
        # may walk every claimable row to find them.
        .where(Callout.id.in_(picked))
        .values(
            status="active",
            lease_owner=worker_id,
            lease_expires=now + lease,
            updated_time=now,
            version=Callout.version + 1,
        )
        .returning(
            Callout.id,
            Callout.invoice_id,
            Callout.priority_rank,
            Callout.run_at,
            Callout.emails_enabled,
            Callout.email_done,
        )
        .execution_options(synchronize_session=False)
    )
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in result.all()]


async def renew_leases(
    session: AsyncSession, worker_id: str, callout_ids: list[str], until: datetime
) -> int:
    if not callout_ids:
        return 0
    mine = (
        select(Callout.id)
        .where(
            Callout.id.in_(callout_ids),
            Callout.lease_owner == worker_id,
            Callout.status == "active",
        )
        .order_by(Callout.id)
    )
    result = await session.execute(
        update(Callout)
        # Not the rows a decision or an outcome is being written to (they hold them locked
        # from reading to commit): waiting for them could deadlock with the next one, and
        # the next beat renews them.
        .where(claimable_ids(session, mine, Callout.id))
        .values(lease_expires=until)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def release_leases(session: AsyncSession, worker_id: str, now: datetime) -> None:
    """On a graceful stop: hand running callouts back at once instead of after the lease."""
    await session.execute(
        update(Callout)
        .where(Callout.lease_owner == worker_id, Callout.status == "active")
        .values(lease_expires=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
