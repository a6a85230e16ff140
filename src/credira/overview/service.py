"""The overview's figures for one account, in the operator's time zone: today's callouts, the
contacts of the next hours in each debtor's local time, outcomes and money over the last days,
and the worker's health. Each panel is its own function, so a page can load them one by one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from credira.event.types import EventType
from credira.overview import repository
from credira.overview.repository import DueContact, Lateness, Unconfirmed

# The outcomes a call's analysis gives (credira.transcript.analysis), in the order shown.
OUTCOMES = (
    "promise_to_pay",
    "acknowledged",
    "callback_requested",
    "dispute",
    "opt_out",
    "wrong_party",
)


def zone_of(name: str | None) -> ZoneInfo | None:
    """The IANA zone named, or ``None`` for none or an unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends at (23 or 25 hours on a DST change)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def last_days(now: datetime, zone: ZoneInfo, days: int) -> list[date]:
    """The ``days`` local days ending today, oldest first."""
    today = now.astimezone(zone).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


async def today_by_status(
    session: AsyncSession, account_id: str, now: datetime, zone: ZoneInfo
) -> dict[str, int]:
    """The callouts scheduled for the operator's today, by status."""
    start, end = day_bounds(now.astimezone(zone).date(), zone)
    return await repository.callouts_by_status(session, account_id, start, end)


@dataclass(frozen=True)
class Contact:
    """A contact due soon, with the time it falls at for the debtor (``local``) and for the
    operator (``operator_local``)."""

    due: DueContact
    local: datetime
    zone_name: str
    operator_local: datetime


@dataclass(frozen=True)
class Upcoming:
    start: datetime
    end: datetime
    contacts: list[Contact]
    total: int


async def upcoming(
    session: AsyncSession,
    account_id: str,
    now: datetime,
    zone: ZoneInfo,
    hours: int = 12,
    limit: int = 50,
) -> Upcoming:
    """The contacts the worker will make in the next ``hours`` (the first ``limit``), each in
    its debtor's local time (the operator's zone where the invoice names none)."""
    end = now + timedelta(hours=hours)
    due, total = await repository.due_contacts(session, account_id, now, end, limit)
    contacts = []
    for contact in due:
        debtor_zone = zone_of(contact.timezone) or zone
        contacts.append(
            Contact(
                due=contact,
                local=contact.run_at.astimezone(debtor_zone),
                zone_name=str(debtor_zone.key),
                operator_local=contact.run_at.astimezone(zone),
            )
        )
    return Upcoming(now, end, contacts, total)


@dataclass(frozen=True)
class DailyOutcomes:
    days: list[date]
    calls: list[int]  # calls placed each day
    reached: list[int]  # answered
    by_outcome: dict[str, list[int]]  # each of OUTCOMES, per day


async def outcomes(
    session: AsyncSession, account_id: str, now: datetime, zone: ZoneInfo, days: int = 14
) -> DailyOutcomes:
    """Calls placed, debtors reached and what they said, per local day."""
    day_list = last_days(now, zone, days)
    start, _ = day_bounds(day_list[0], zone)
    index = {day: n for n, day in enumerate(day_list)}
    calls = [0] * days
    reached = [0] * days
    by_outcome = {outcome: [0] * days for outcome in OUTCOMES}
    for hour, answered, outcome, count in await repository.outcomes_by_hour(
        session, account_id, start, now + timedelta(hours=1)
    ):
        n = index.get(hour.astimezone(zone).date())
        if n is None:
            continue
        calls[n] += count
        if answered:
            reached[n] += count
        if outcome in by_outcome:
            by_outcome[outcome][n] += count
    return DailyOutcomes(day_list, calls, reached, by_outcome)


@dataclass(frozen=True)
class Promise:
    time: datetime
    invoice_id: str
    amount: Decimal
    currency: str
    promised_date: date | None


@dataclass(frozen=True)
class Money:
    """Money promised and recovered per local day, per currency (the currency with the most
    at stake first), and the latest promises with their amounts and days."""

    days: list[date]
    currencies: list[str]
    promised: dict[str, list[Decimal]]
    recovered: dict[str, list[Decimal]]
    promises: list[Promise]  # newest first
    promise_count: int
    paid_count: int


async def money(
    session: AsyncSession,
    account_id: str,
    now: datetime,
    zone: ZoneInfo,
    days: int = 14,
    latest: int = 10,
) -> Money:
    """Amounts promised (``invoice.promised``) and recovered (``invoice.paid``) per day."""
    day_list = last_days(now, zone, days)
    start, _ = day_bounds(day_list[0], zone)
    end = now + timedelta(seconds=1)
    index = {day: n for n, day in enumerate(day_list)}
    sums: dict[str, dict[str, list[Decimal]]] = {"promised": {}, "recovered": {}}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    found: dict[str, list[repository.MoneyEvent]] = {}
    kinds = (("promised", EventType.INVOICE_PROMISED), ("recovered", EventType.INVOICE_PAID))
    for key, kind in kinds:
        found[key] = await repository.money_events(session, account_id, kind, start, end)
        for event in found[key]:
            n = index.get(event.time.astimezone(zone).date())
            if n is None:
                continue
            series = sums[key].setdefault(event.currency, [Decimal(0)] * days)
            series[n] += event.amount
            totals[event.currency] += event.amount
    currencies = sorted(totals, key=lambda c: (-totals[c], c))
    for key in sums:
        for currency in currencies:
            sums[key].setdefault(currency, [Decimal(0)] * days)
    promises = [
        Promise(e.time, e.invoice_id, e.amount, e.currency, e.promised_date)
        for e in reversed(found["promised"][-latest:])
    ]
    return Money(
        day_list,
        currencies,
        sums["promised"],
        sums["recovered"],
        promises,
        len(found["promised"]),
        len(found["recovered"]),
    )


@dataclass(frozen=True)
class Health:
    lateness: Lateness
    held: dict[str, int]  # reason -> count, most first
    unconfirmed: list[Unconfirmed]
    unconfirmed_total: int


async def health(
    session: AsyncSession, account_id: str, now: datetime, unconfirmed_limit: int = 20
) -> Health:
    """The worker's health as it touches the account: how late the due callouts are, what
    holds the others, and the emails waiting for reconciliation."""
    late = await repository.lateness(session, account_id, now)
    held = await repository.held_by_reason(session, account_id)
    emails, total = await repository.unconfirmed_emails(session, account_id, unconfirmed_limit)
    ordered = dict(sorted(held.items(), key=lambda item: (-item[1], item[0])))
    return Health(late, ordered, emails, total)
