"""All of the webhooks' SQL: endpoints, the fan-out from the event log, claiming due
deliveries (a conditional update only one process wins: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, SQLite serialises writers), and writing attempts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from credira.db.dialect import claimable_ids, insert_ignore, prefer_index_order
from credira.kit.pagination import Page
from credira.models import Event, WebhookDelivery, WebhookEndpoint
from credira.webhook.types import DeliveryStatus

D = WebhookDelivery
# The due time of a disabled endpoint's pending deliveries: out of every claim's range until
# the endpoint is enabled again (so a claim reads the due index alone, in its order).
PARKED = datetime(9999, 12, 31, tzinfo=UTC)


def _deliveries_table() -> Table:
    table = WebhookDelivery.__table__
    assert isinstance(table, Table)
    return table


# -- endpoints -------------------------------------------------------------------------------


async def get(
    session: AsyncSession, account_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.account_id == account_id
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def list_endpoints(
    session: AsyncSession, account_id: str, page: Page
) -> tuple[list[WebhookEndpoint], bool, int]:
    condition = WebhookEndpoint.account_id == account_id
    query = page.apply(select(WebhookEndpoint).where(condition), WebhookEndpoint.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    total = await session.scalar(select(func.count()).select_from(WebhookEndpoint).where(condition))
    return items, more, int(total or 0)


async def lock_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    return await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
    )


async def endpoint_succeeded(session: AsyncSession, endpoint_ids: Collection[str]) -> None:
    """A success ends the endpoint's failing streak (a write only when one was going on)."""
    await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(sorted(endpoint_ids)), WebhookEndpoint.failing_since.is_not(None)
        )
        .values(failing_since=None)
        .execution_options(synchronize_session=False)
    )


async def endpoint_failed(
    session: AsyncSession, endpoint_ids: Collection[str], now: datetime
) -> list[tuple[str, datetime]]:
    """Start the failing streak of those not failing yet; each endpoint's streak start."""
    ids = sorted(endpoint_ids)
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(ids), WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.failing_since).where(
            WebhookEndpoint.id.in_(ids), WebhookEndpoint.enabled
        )
    )
    return [(r[0], r[1]) for r in rows if r[1] is not None]


# -- deliveries through the API --------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession, endpoint_id: str, status: str | None, page: Page
) -> tuple[list[WebhookDelivery], bool, int]:
    conditions = [D.endpoint_id == endpoint_id]
    if status is not None:
        conditions.append(D.status == status)
    query = page.apply(select(D).where(*conditions), D.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    total = await session.scalar(select(func.count()).select_from(D).where(*conditions))
    return items, more, int(total or 0)


async def get_delivery(
    session: AsyncSession, endpoint_id: str, delivery_id: str
) -> WebhookDelivery | None:
    return await session.scalar(
        select(D).where(D.id == delivery_id, D.endpoint_id == endpoint_id).with_for_update()
    )


async def add_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Deliveries, each made once per endpoint and event (a second is ignored)."""
    if rows:
        await session.execute(
            insert_ignore(session, _deliveries_table(), ["endpoint_id", "event_id"]), rows
        )


async def write_delivery(session: AsyncSession, delivery_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(D)
        .where(D.id == delivery_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )


# -- fan-out ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingEvent:
    id: str
    account_id: str
    type: str
    object_id: str
    created_time: datetime


async def pending_events(session: AsyncSession, limit: int) -> list[PendingEvent]:
    """The oldest events not fanned out yet, locked and skipped by other workers on
    PostgreSQL (on SQLite two workers may read the same ones: their deliveries are made once
    anyway, unique per endpoint and event). One range of the partial index, however long the
    log is."""
    rows = await session.execute(
        select(Event.id, Event.account_id, Event.type, Event.object_id, Event.created_time)
        .where(Event.webhooks_pending)
        .order_by(Event.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [PendingEvent(*row) for row in rows]


async def enabled_endpoints(
    session: AsyncSession, account_ids: Collection[str]
) -> list[tuple[str, str, list[str]]]:
    """(id, account id, event types) of the accounts' enabled endpoints."""
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.account_id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.account_id.in_(sorted(account_ids)), WebhookEndpoint.enabled
        )
    )
    return [(r[0], r[1], list(r[2])) for r in rows]


async def fanned_out(session: AsyncSession, event_ids: Collection[str]) -> None:
    await session.execute(
        update(Event)
        .where(Event.id.in_(sorted(event_ids)))
        .values(webhooks_pending=False)
        .execution_options(synchronize_session=False)
    )


# -- claiming and sending --------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: str
    endpoint_id: str
    event_id: str
    object_id: str
    body: str | None
    attempts: list[dict[str, Any]]


@dataclass(frozen=True)
class Target:
    id: str
    account_id: str
    url: str
    secret: str
    previous_secret: str | None
    previous_expires: datetime | None


async def claim_due(
    session: AsyncSession,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    busy_endpoints: Collection[str] = (),
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of enabled endpoints, oldest due first, leaving
    out ``busy_endpoints`` (as many of theirs in flight here as allowed) and a delivery while
    an earlier one of the same object to the same endpoint is in flight (order per object)."""
    earlier = aliased(WebhookDelivery)
    in_flight_before = exists().where(
        earlier.endpoint_id == D.endpoint_id,
        earlier.object_id == D.object_id,
        earlier.event_id < D.event_id,
        earlier.status == DeliveryStatus.PENDING,
        earlier.lease_expires >= now,
    )
    # A range of the due index (pending only), in its order, left once the claim is full.
    conditions = [
        D.status == DeliveryStatus.PENDING,
        D.next_attempt_time <= now,
        or_(D.lease_expires.is_(None), D.lease_expires < now),
        ~in_flight_before,
    ]
    if busy_endpoints:
        conditions.append(D.endpoint_id.not_in(sorted(busy_endpoints)))
    candidates = select(D.id).where(and_(*conditions)).order_by(D.next_attempt_time).limit(limit)
    await prefer_index_order(session)
    rows = await session.execute(
        update(D)
        .where(claimable_ids(session, candidates, D.id))
        .values(lease_owner=worker_id, lease_expires=now + lease)
        .returning(D.id, D.endpoint_id, D.event_id, D.object_id, D.body, D.attempts)
        .execution_options(synchronize_session=False)
    )
    claimed = [Claimed(r[0], r[1], r[2], r[3], r[4], list(r[5] or [])) for r in rows]
    await session.commit()
    return sorted(claimed, key=lambda c: c.event_id)


async def targets(session: AsyncSession, endpoint_ids: Collection[str]) -> dict[str, Target]:
    """The enabled endpoints among these, by id."""
    rows = await session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.account_id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.previous_secret,
            WebhookEndpoint.previous_expires,
        ).where(WebhookEndpoint.id.in_(sorted(endpoint_ids)), WebhookEndpoint.enabled)
    )
    return {r[0]: Target(*r) for r in rows}


async def events(session: AsyncSession, event_ids: Collection[str]) -> dict[str, Event]:
    found = await session.scalars(select(Event).where(Event.id.in_(sorted(event_ids))))
    return {event.id: event for event in found}


async def write_attempts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Each attempt's outcome, one statement for all (rows keyed ``delivery_id`` and
    ``worker_id``, and the same columns), written only while the delivery is still leased to
    that worker (one that took it over after the lease ran out writes its own)."""
    if not rows:
        return
    table = _deliveries_table()
    columns = [k for k in rows[0] if k not in ("delivery_id", "worker_id")]
    await session.execute(
        update(table)
        .where(
            table.c.id == bindparam("b_delivery_id"),
            table.c.lease_owner == bindparam("b_worker_id"),
        )
        .values({c: bindparam(f"v_{c}") for c in columns}),
        [
            {
                "b_delivery_id": r["delivery_id"],
                "b_worker_id": r["worker_id"],
                **{f"v_{c}": r[c] for c in columns},
            }
            for r in rows
        ],
    )


async def release(session: AsyncSession, worker_id: str, now: datetime) -> None:
    """On a graceful stop: hand leased deliveries back at once."""
    await session.execute(
        update(D)
        .where(D.lease_owner == worker_id, D.status == DeliveryStatus.PENDING)
        .values(lease_owner=None, lease_expires=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


# -- counts, for metrics and the doctor ------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    by_status: dict[str, int]
    oldest_unsent_event: datetime | None  # not fanned out yet
    oldest_pending_delivery: datetime | None


async def counts(session: AsyncSession) -> Counts:
    """Deliveries by status, and the oldest work not done."""
    rows = await session.execute(select(D.status, func.count()).group_by(D.status))
    by_status = {str(r[0]): int(r[1]) for r in rows}
    oldest_event = await session.scalar(
        select(Event.created_time).where(Event.webhooks_pending).order_by(Event.id).limit(1)
    )
    oldest_delivery = await session.scalar(
        select(func.min(D.created_time)).where(D.status == DeliveryStatus.PENDING)
    )
    return Counts(by_status, oldest_event, oldest_delivery)


async def park(session: AsyncSession, endpoint_id: str, delivery_ids: Collection[str] = ()) -> None:
    """A disabled endpoint's pending deliveries (or these of them) wait for it, unleased."""
    condition = [D.endpoint_id == endpoint_id, D.status == DeliveryStatus.PENDING]
    if delivery_ids:
        condition.append(D.id.in_(sorted(delivery_ids)))
    await session.execute(
        update(D)
        .where(*condition)
        .values(next_attempt_time=PARKED, lease_owner=None, lease_expires=None)
        .execution_options(synchronize_session=False)
    )


async def unpark(session: AsyncSession, endpoint_id: str, now: datetime) -> None:
    """An endpoint enabled again: its waiting deliveries are due now."""
    await session.execute(
        update(D)
        .where(
            D.endpoint_id == endpoint_id,
            D.status == DeliveryStatus.PENDING,
            D.next_attempt_time == PARKED,
        )
        .values(next_attempt_time=now)
        .execution_options(synchronize_session=False)
    )


async def unlease(session: AsyncSession, worker_id: str, delivery_ids: Collection[str]) -> None:
    """Hand back deliveries claimed but not sent now (the transaction is the caller's)."""
    await session.execute(
        update(D)
        .where(D.id.in_(sorted(delivery_ids)), D.lease_owner == worker_id)
        .values(lease_owner=None, lease_expires=None)
        .execution_options(synchronize_session=False)
    )


PRUNE_BATCH = 10_000


async def prune(session: AsyncSession, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete up to ``batch`` finished deliveries last changed before ``before``; how many."""
    oldest = (
        select(D.id)
        .where(D.status != DeliveryStatus.PENDING, D.updated_time < before)
        .limit(batch)
        .scalar_subquery()
    )
    result: Any = await session.execute(
        delete(D).where(D.id.in_(oldest)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
