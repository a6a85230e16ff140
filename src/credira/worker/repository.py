"""Claiming due work. The callout row is the schedule; a claim is a conditional update that
only one process can win (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import claimable_ids
from credira.models import Callout


@dataclass(frozen=True)
class Claimed:
    callout_id: str
    invoice_id: str


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    due = and_(Callout.status == "scheduled", Callout.run_at <= now)
    abandoned = and_(Callout.status == "active", Callout.lease_expires < now)
    return or_(due, abandoned)


async def claim_due(
    session: AsyncSession, worker_id: str, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Take up to ``limit`` due callouts (urgent first, then the longest due), and callouts
    whose worker stopped renewing its lease."""
    candidates = (
        select(Callout.id)
        .where(_claimable(now))
        .order_by(Callout.priority_rank, Callout.run_at)
        .limit(limit)
    )
    picked = claimable_ids(session, candidates, Callout.id)
    result = await session.execute(
        update(Callout)
        # The outer condition is checked again against the row as it is when locked, so two
        # claimers can never both win one row.
        .where(picked, _claimable(now))
        .values(
            status="active",
            lease_owner=worker_id,
            lease_expires=now + lease,
            updated_time=now,
            version=Callout.version + 1,
        )
        .returning(Callout.id, Callout.invoice_id)
        .execution_options(synchronize_session=False)
    )
    rows = result.all()
    await session.commit()
    return [Claimed(r[0], r[1]) for r in rows]


async def renew_leases(
    session: AsyncSession, worker_id: str, callout_ids: list[str], until: datetime
) -> int:
    if not callout_ids:
        return 0
    result = await session.execute(
        update(Callout)
        .where(
            Callout.id.in_(callout_ids),
            Callout.lease_owner == worker_id,
            Callout.status == "active",
        )
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
