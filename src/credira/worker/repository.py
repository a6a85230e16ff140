"""Claiming due work. The callout row is the schedule; a claim is a conditional update that
only one process can win (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout import state
from credira.callout.policy import RANKS
from credira.callout.state import CalloutStatus
from credira.callout.view import SNAPSHOT_FIELDS, CalloutFields
from credira.db.dialect import claimable_ids, prefer_index_order, take_in_turn
from credira.models import Account, Callout, VoiceAgent


@dataclass(frozen=True)
class Claimed:
    callout_id: str
    invoice_id: str
    # Whether the callout's email part may still have work (emails enabled, not done) when
    # it was claimed: when not, its run can skip the email part without reading anything.
    email_pending: bool = True
    # When it became due (None for one taken over from a stopped worker): for its lateness.
    due: datetime | None = None


def _callouts() -> Table:
    table = Callout.__table__
    assert isinstance(table, Table)
    return table


_CALLOUTS = _callouts()
_COLUMNS = inspect(Callout).columns  # by attribute name (``metadata_`` is column ``metadata``)
# Each claimed callout's place in the claim's order and whether its email part may have work,
# then what its event shows (labelled by attribute name).
_CLAIM_ORDER = ("id", "invoice_id", "priority_rank", "run_at", "emails_enabled", "email_done")
_CLAIM_RETURNS = [
    _COLUMNS[name].label(name)
    for name in _CLAIM_ORDER + tuple(n for n in SNAPSHOT_FIELDS if n not in _CLAIM_ORDER)
]


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(Callout.status == CalloutStatus.SCHEDULED, Callout.run_at <= now)


def _abandoned(now: datetime) -> ColumnElement[bool]:
    return and_(Callout.status == CalloutStatus.ACTIVE, Callout.lease_expires < now)


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
    rows = []
    if abandoned:
        # Taken over: still active, so no event (the worker that stopped had it already).
        rows = await _take(session, _abandoned(now), worker_id, now, lease, limit, events=False)
    taken_over = {r[0] for r in rows}
    if len(rows) < limit:
        rows += await _take(
            session, _due(now), worker_id, now, lease, limit - len(rows), events=True
        )
    await session.commit()
    rows.sort(key=lambda r: (r[2], r[3]))
    return [
        Claimed(r[0], r[1], r[4] and not r[5], None if r[0] in taken_over else r[3]) for r in rows
    ]


async def _take(
    session: AsyncSession,
    claimable: ColumnElement[bool],
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    events: bool = True,
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
    # By key only: the rows were claimable when taken and cannot have changed since (they are
    # locked on PostgreSQL, whose lock checked the condition against the row as it was then;
    # SQLite lets no other writer in), and with the condition here PostgreSQL may walk every
    # claimable row to find them. A Core statement on the table: nothing is loaded into the
    # session, and the event's snapshot is built from what the statement returns.
    claim = (
        update(_CALLOUTS)
        # One bound list, not a parameter per key: the statement's cache key stays the same.
        .where(_CALLOUTS.c.id.in_(bindparam("picked", expanding=True)))
        .values({**state.claim_values(worker_id, now, lease), "version": _CALLOUTS.c.version + 1})
    )
    rows = (
        await session.execute(
            claim.returning(*_CLAIM_RETURNS[: None if events else len(_CLAIM_ORDER)]),
            {"picked": picked},
        )
    ).all()
    if events:
        for row in rows:
            state.claimed(session, cast(CalloutFields, row), now)
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


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
            Callout.status == CalloutStatus.ACTIVE,
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
        .where(Callout.lease_owner == worker_id, Callout.status == CalloutStatus.ACTIVE)
        .values(lease_expires=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


# -- what a batch of runs reads and locks (the transactions are the caller's) ----------------


async def lock_callouts(session: AsyncSession, callout_ids: Collection[str]) -> dict[str, Callout]:
    """The callouts, by id, locked after their invoices (the order every writer of both keeps),
    so that their changes can be written together at the end (``write_locked``)."""
    found = await session.scalars(
        select(Callout)
        .where(Callout.id.in_(sorted(callout_ids)))
        .order_by(Callout.id)
        # The lock an UPDATE takes (rows that refer to these keep their own locks).
        .with_for_update(key_share=True)
    )
    return {callout.id: callout for callout in found}


async def agents(session: AsyncSession, agent_ids: Collection[str]) -> dict[str, VoiceAgent]:
    found = await session.scalars(select(VoiceAgent).where(VoiceAgent.id.in_(agent_ids)))
    return {agent.id: agent for agent in found}


async def accounts(session: AsyncSession, account_ids: Collection[str]) -> dict[str, Account]:
    found = await session.scalars(select(Account).where(Account.id.in_(account_ids)))
    return {account.id: account for account in found}


async def statuses(session: AsyncSession, callout_ids: Collection[str]) -> dict[str, str]:
    """The callouts' statuses, by id (of those that still exist)."""
    rows = await session.execute(
        select(Callout.id, Callout.status).where(Callout.id.in_(callout_ids))
    )
    return {callout_id: status for callout_id, status in rows}


async def end_email_part(session: AsyncSession, callout_id: str, reason: str | None = None) -> None:
    """The callout's email part is done (with ``reason`` as its status reason, when given)."""
    values: dict[str, object] = {"email_done": True}
    if reason is not None:
        values["status_reason"] = reason[:500]
    await session.execute(
        update(Callout)
        .where(Callout.id == callout_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )
