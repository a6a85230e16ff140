"""All SQL about emails."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.policy import FINISHED, RANKS
from credira.db.dialect import prefer_index_order, take_in_turn
from credira.email.state import IN_FLIGHT as IN_FLIGHT
from credira.email.state import PENDING as PENDING
from credira.email.state import EmailStatus
from credira.kit.pagination import Page
from credira.models import Call, Callout, Email


async def get(session: AsyncSession, account_id: str, email_id: str) -> Email | None:
    return await session.scalar(
        select(Email).where(Email.id == email_id, Email.account_id == account_id)
    )


async def get_locked(session: AsyncSession, account_id: str, email_id: str) -> Email | None:
    """The account's email, locked until the transaction ends (``FOR UPDATE``)."""
    return await session.scalar(
        select(Email).where(Email.id == email_id, Email.account_id == account_id).with_for_update()
    )


async def list_for_callout(
    session: AsyncSession, account_id: str, callout_id: str, page: Page
) -> tuple[list[Email], bool, int]:
    conditions = [Email.account_id == account_id, Email.callout_id == callout_id]
    query = page.apply(select(Email).where(*conditions), Email.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    if page.starting_after is None and not more:
        return items, more, len(items)
    total = await session.scalar(select(func.count()).select_from(Email).where(*conditions))
    return items, more, int(total or 0)


async def for_callout(session: AsyncSession, callout_id: str) -> list[Email]:
    rows = await session.scalars(
        select(Email).where(Email.callout_id == callout_id).order_by(Email.created_time, Email.id)
    )
    return list(rows.all())


async def open_for_callout(session: AsyncSession, callout_id: str) -> Email | None:
    """The callout's email that has not reached a final status yet."""
    return await session.scalar(
        select(Email).where(
            Email.callout_id == callout_id,
            Email.origin == "callout",
            Email.status.in_(PENDING),
        )
    )


async def ended_for_callout(session: AsyncSession, callout_id: str) -> bool:
    """Whether one of the callout's own emails has reached a final status."""
    found = await session.scalar(
        select(Email.id)
        .where(
            Email.callout_id == callout_id,
            Email.origin == "callout",
            Email.status.not_in(PENDING),
        )
        .limit(1)
    )
    return found is not None


async def contacts_since(session: AsyncSession, invoice_id: str, since: datetime) -> int:
    """Emails sent and calls placed about an invoice since ``since`` (the weekly limit)."""
    emails = await session.scalar(
        select(func.count())
        .select_from(Email)
        .where(Email.invoice_id == invoice_id, Email.sent_time > since)
    )
    calls = await session.scalar(
        select(func.count())
        .select_from(Call)
        .where(Call.invoice_id == invoice_id, Call.placed_time > since)
    )
    return int(emails or 0) + int(calls or 0)


async def oldest_contact_since(
    session: AsyncSession, invoice_id: str, since: datetime
) -> datetime | None:
    first_email = await session.scalar(
        select(func.min(Email.sent_time)).where(
            Email.invoice_id == invoice_id, Email.sent_time > since
        )
    )
    first_call = await session.scalar(
        select(func.min(Call.placed_time)).where(
            Call.invoice_id == invoice_id, Call.placed_time > since
        )
    )
    found = [t for t in (first_email, first_call) if t is not None]
    return min(found) if found else None


def _claimable_origin() -> ColumnElement[bool]:
    # A callout's email is run by its callout while that runs. Once the callout has finished
    # (its call ended while the email was deferred by the mail server or held by the weekly
    # limit), nothing would run it any more: the email loop takes it over.
    orphaned = and_(
        Email.origin == "callout",
        exists().where(Callout.id == Email.callout_id, Callout.status.in_(FINISHED)),
    )
    return or_(Email.origin == "send_email", orphaned)


async def claim_due(
    session: AsyncSession, worker_id: str, now: datetime, lease: timedelta, limit: int
) -> list[str]:
    """Take up to ``limit`` due emails sent through ``POST /send-email``, and those of
    finished callouts (a running callout runs its own email): first those whose worker
    stopped renewing the lease (few: they were being sent), then the due ones, urgent first,
    then the longest due, one range of ``ix_emails_due`` per priority (as callouts are
    claimed: no sort of every due email, see ``take_in_turn``). A claimed email stays
    ``scheduled`` with its ``run_at`` moved to the lease's end."""
    origin = _claimable_origin()
    abandoned = (
        select(Email.id)
        .where(origin, Email.status.in_(IN_FLIGHT), Email.lease_expires < now)
        .order_by(Email.priority_rank, Email.run_at)
        .limit(limit)
    )
    due = [
        select(Email.id)
        .where(
            origin,
            Email.status == EmailStatus.SCHEDULED,
            Email.priority_rank == rank,
            Email.run_at <= now,
        )
        .order_by(Email.run_at)
        .limit(limit)
        for rank in RANKS
    ]
    await prefer_index_order(session)
    ids = await take_in_turn(session, [abandoned, *due], limit)
    if ids:
        # By key: the rows were claimable when taken and cannot have changed since (see
        # worker.repository._take).
        await session.execute(
            update(Email)
            .where(Email.id.in_(ids))
            .values(lease_owner=worker_id, lease_expires=now + lease, run_at=now + lease)
            .execution_options(synchronize_session=False)
        )
    await session.commit()
    return [str(i) for i in ids]


async def renew_leases(
    session: AsyncSession, worker_id: str, email_ids: list[str], until: datetime
) -> None:
    if not email_ids:
        return
    await session.execute(
        update(Email)
        .where(Email.id.in_(email_ids), Email.lease_owner == worker_id)
        .values(lease_expires=until)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def callout_status(session: AsyncSession, callout_id: str) -> str | None:
    """The status of an email's callout (the contact rules stop a cancelled callout's email)."""
    return await session.scalar(select(Callout.status).where(Callout.id == callout_id))


# -- conditional updates that return the row they changed (None: they changed nothing) ----
#
# Each is one statement: only one attempt (or one use of a link) can win it, and its winner
# gets the email as changed to append the change's event. They leave the row's version (its
# ETag) alone: a worker updating the same email at that moment keeps its write.


async def _changed(session: AsyncSession, statement: Any) -> Email | None:
    found: Email | None = await session.scalar(
        statement.returning(Email).execution_options(
            synchronize_session=False, populate_existing=True
        )
    )
    return found


async def update_attempt(
    session: AsyncSession, email_id: str, *, attempt: int, status: str, values: dict[str, Any]
) -> Email | None:
    """Write ``values`` on the email while it is still attempt ``attempt`` in ``status``."""
    return await _changed(
        session,
        update(Email)
        .where(Email.id == email_id, Email.status == status, Email.attempt_count == attempt)
        .values(**values),
    )


async def mark_opened(session: AsyncSession, tracking_id: str, now: datetime) -> Email | None:
    """Set the email's ``opened_time`` unless it is set."""
    return await _changed(
        session,
        update(Email)
        .where(Email.tracking_id == tracking_id, Email.opened_time.is_(None))
        .values(opened_time=now),
    )


async def mark_clicked(session: AsyncSession, tracking_id: str, now: datetime) -> Email | None:
    """Set the email's ``clicked_time`` unless it is set."""
    return await _changed(
        session,
        update(Email)
        .where(Email.tracking_id == tracking_id, Email.clicked_time.is_(None))
        .values(clicked_time=now),
    )


async def mark_unsubscribed(session: AsyncSession, email_id: str) -> Email | None:
    """Set the email's ``unsubscribed`` unless it is set."""
    return await _changed(
        session,
        update(Email)
        .where(Email.id == email_id, Email.unsubscribed.is_(False))
        .values(unsubscribed=True),
    )


async def by_tracking_id(session: AsyncSession, tracking_id: str) -> Email | None:
    return await session.scalar(select(Email).where(Email.tracking_id == tracking_id))


async def id_by_tracking_id(session: AsyncSession, tracking_id: str) -> str | None:
    return await session.scalar(select(Email.id).where(Email.tracking_id == tracking_id))


async def reached_for_callout(session: AsyncSession, callout_id: str) -> bool:
    """Whether one of the callout's emails was accepted by the debtor's mail server."""
    found = await session.scalar(
        select(Email.id)
        .where(Email.callout_id == callout_id, Email.status == EmailStatus.DELIVERED)
        .limit(1)
    )
    return found is not None


async def latest_for_callout(session: AsyncSession, callout_id: str) -> Email | None:
    """The callout's latest email, to explain how its email part ended or why it waits."""
    return await session.scalar(
        select(Email)
        .where(Email.callout_id == callout_id, Email.origin == "callout")
        .order_by(Email.created_time.desc(), Email.id.desc())
        .limit(1)
    )
