"""All SQL of the operator's overview: counts and sums over one account's callouts, calls,
emails and invoice events, each read from an index whose leading columns are the account and
the range asked for (migration 0013), so a page costs the same at a thousand callouts as at a
million. Times are grouped by UTC hour here; the service folds the hours into the operator's
local days (a whole-hour zone gives exact days; a half-hour zone is off by its half hour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.state import CalloutStatus
from credira.db.dialect import dialect_name
from credira.email.state import EmailStatus
from credira.event.types import EventType
from credira.models import Call, Callout, Email, Event, Invoice

SCHEDULED = CalloutStatus.SCHEDULED.value
ACTIVE = CalloutStatus.ACTIVE.value
_HOUR_FORMAT = "%Y-%m-%d %H"


def _hour(session: AsyncSession, column: Any) -> ColumnElement[str]:
    """The UTC hour of a time column as ``YYYY-MM-DD HH`` text, on either database."""
    if dialect_name(session) == "postgresql":
        hour: ColumnElement[str] = func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
        return hour
    # SQLite keeps UTC instants as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` text (credira.db.types).
    prefix: ColumnElement[str] = func.substr(column, 1, 13)
    return prefix


def _parse_hour(text: str) -> datetime:
    return datetime.strptime(text, _HOUR_FORMAT).replace(tzinfo=UTC)


async def callouts_by_status(
    session: AsyncSession, account_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """The account's callouts scheduled in ``[start, end)``, counted by status."""
    rows = await session.execute(
        select(Callout.status, func.count())
        .where(
            Callout.account_id == account_id,
            Callout.scheduled_time >= start,
            Callout.scheduled_time < end,
        )
        .group_by(Callout.status)
    )
    return {str(status): int(n) for status, n in rows.all()}


@dataclass(frozen=True)
class DueContact:
    callout_id: str
    invoice_id: str
    invoice_number: str
    run_at: datetime
    type: str
    priority: str
    calls_enabled: bool
    emails_enabled: bool
    hold_reason: str | None
    contact_name: str | None
    timezone: str | None


async def due_contacts(
    session: AsyncSession, account_id: str, start: datetime, end: datetime, limit: int
) -> tuple[list[DueContact], int]:
    """The account's scheduled callouts the worker will take in ``[start, end)``, soonest
    first (at most ``limit``), with the debtor's time zone, and how many there are in all."""
    in_window = (
        Callout.account_id == account_id,
        Callout.status == SCHEDULED,
        Callout.run_at >= start,
        Callout.run_at < end,
    )
    rows = await session.execute(
        select(
            Callout.id,
            Callout.invoice_id,
            Invoice.number,
            Callout.run_at,
            Callout.type,
            Callout.priority,
            Callout.calls_enabled,
            Callout.emails_enabled,
            Callout.hold_reason,
            func.coalesce(Callout.contact_name, Invoice.customer_name),
            Invoice.customer_timezone,
        )
        .join(Invoice, Invoice.id == Callout.invoice_id)
        .where(*in_window)
        .order_by(Callout.run_at, Callout.id)
        .limit(limit)
    )
    contacts = [DueContact(*row) for row in rows.all()]
    if len(contacts) < limit:
        return contacts, len(contacts)
    total = await session.scalar(select(func.count()).select_from(Callout).where(*in_window))
    return contacts, int(total or 0)


async def outcomes_by_hour(
    session: AsyncSession, account_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, bool, str | None, int]]:
    """The account's calls placed in ``[start, end)``: ``(UTC hour, answered, outcome,
    count)``."""
    hour = _hour(session, Call.placed_time).label("hour")
    rows = await session.execute(
        select(hour, Call.answered, Call.outcome, func.count())
        .where(
            Call.account_id == account_id,
            Call.placed_time >= start,
            Call.placed_time < end,
        )
        .group_by(hour, Call.answered, Call.outcome)
    )
    return [(_parse_hour(h), bool(a), o, int(n)) for h, a, o, n in rows.all()]


@dataclass(frozen=True)
class MoneyEvent:
    """An invoice promised or paid: when, its amount and currency, and (for a promise) the day
    promised."""

    time: datetime
    invoice_id: str
    amount: Decimal
    currency: str
    promised_date: date | None


async def money_events(
    session: AsyncSession, account_id: str, kind: EventType, start: datetime, end: datetime
) -> list[MoneyEvent]:
    """The account's ``invoice.promised`` or ``invoice.paid`` events in ``[start, end)`` with
    their invoice's amount (the invoice as it is now: an amount changed since is shown as it
    stands)."""
    rows = await session.execute(
        select(
            Event.created_time,
            Invoice.id,
            Invoice.amount,
            Invoice.currency,
            Invoice.promised_date,
        )
        .join(Invoice, Invoice.id == Event.object_id)
        .where(
            Event.account_id == account_id,
            Event.type == kind.value,
            Event.created_time >= start,
            Event.created_time < end,
        )
        .order_by(Event.created_time)
    )
    return [MoneyEvent(*row) for row in rows.all()]


async def latest_money_events(
    session: AsyncSession, account_id: str, kind: EventType, since: datetime, limit: int
) -> list[MoneyEvent]:
    """The account's newest ``limit`` events of ``kind`` since ``since``, newest first, with
    their invoice's amount."""
    rows = await session.execute(
        select(
            Event.created_time,
            Invoice.id,
            Invoice.amount,
            Invoice.currency,
            Invoice.promised_date,
        )
        .join(Invoice, Invoice.id == Event.object_id)
        .where(
            Event.account_id == account_id,
            Event.type == kind.value,
            Event.created_time >= since,
        )
        .order_by(Event.created_time.desc())
        .limit(limit)
    )
    return [MoneyEvent(*row) for row in rows.all()]


@dataclass(frozen=True)
class Lateness:
    due: int  # scheduled and due (run_at passed), not yet taken by a worker
    oldest_due: datetime | None
    late_1m: int  # due for more than a minute
    late_5m: int
    late_1h: int
    stale_active: int  # being run, but the worker's lease ran out (a worker died)


async def lateness(session: AsyncSession, account_id: str, now: datetime) -> Lateness:
    """How far behind the worker is on the account's due callouts."""

    def older(seconds: int) -> ColumnElement[int]:
        when: ColumnElement[int] = func.coalesce(
            func.sum(case((Callout.run_at <= now - timedelta(seconds=seconds), 1), else_=0)), 0
        )
        return when

    row = (
        await session.execute(
            select(
                func.count(), func.min(Callout.run_at), older(60), older(300), older(3600)
            ).where(
                Callout.account_id == account_id,
                Callout.status == SCHEDULED,
                Callout.run_at <= now,
            )
        )
    ).one()
    stale = await session.scalar(
        select(func.count())
        .select_from(Callout)
        .where(
            Callout.account_id == account_id,
            Callout.status == ACTIVE,
            Callout.lease_expires < now,
        )
    )
    return Lateness(int(row[0]), row[1], int(row[2]), int(row[3]), int(row[4]), int(stale or 0))


async def held_by_reason(session: AsyncSession, account_id: str) -> dict[str, int]:
    """The account's scheduled callouts held by a rule or waiting for a retry, by reason."""
    rows = await session.execute(
        select(Callout.hold_reason, func.count())
        .where(
            Callout.account_id == account_id,
            Callout.status == SCHEDULED,
            Callout.hold_reason.is_not(None),
        )
        .group_by(Callout.hold_reason)
    )
    return {str(reason): int(n) for reason, n in rows.all()}


@dataclass(frozen=True)
class Unconfirmed:
    email_id: str
    invoice_id: str | None
    recipient_email: str
    subject: str
    since: datetime


async def unconfirmed_emails(
    session: AsyncSession, account_id: str, limit: int
) -> tuple[list[Unconfirmed], int]:
    """The account's emails the mail server may or may not have taken, oldest first (at most
    ``limit``), and how many there are."""
    where = (Email.status == EmailStatus.UNCONFIRMED.value, Email.account_id == account_id)
    rows = await session.execute(
        select(Email.id, Email.invoice_id, Email.recipient_email, Email.subject, Email.updated_time)
        .where(*where)
        .order_by(Email.updated_time, Email.id)
        .limit(limit)
    )
    emails = [Unconfirmed(*row) for row in rows.all()]
    if len(emails) < limit:
        return emails, len(emails)
    total = await session.scalar(select(func.count()).select_from(Email).where(*where))
    return emails, int(total or 0)
