"""The overview's figures for one account, in the operator's time zone: today's callouts, the
contacts of the next hours in each debtor's local time, outcomes and money over the last days,
and the worker's health. Each panel is its own function, so a page can load them one by one."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
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


# A day's figures stop changing once it has been over for this long (the last calls of the
# day have ended and been analysed); from then on they are kept (``DayCache``).
SETTLED_AFTER = timedelta(hours=2)


class DayCache:
    """The figures of days that are over, kept so that a page reads only the days still
    changing (today's, mostly) instead of a fortnight of calls and events each time. Bounded:
    the oldest entries go first. A process's own; one per dashboard."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._entries: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._max = max_entries

    def get(self, key: tuple[object, ...]) -> object | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: tuple[object, ...], value: object) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


@dataclass
class _Span:
    """Which of ``days`` to read from the database (from ``start``), and the kept ones."""

    start: datetime | None
    kept: dict[date, Any]
    settled: set[date]


def _span(
    days: list[date], zone: ZoneInfo, now: datetime, cache: DayCache | None, key: tuple[object, ...]
) -> _Span:
    settled = {d for d in days if day_bounds(d, zone)[1] <= now - SETTLED_AFTER}
    kept: dict[date, Any] = {}
    if cache is not None:
        for day in settled:
            value = cache.get((*key, day))
            if value is not None:
                kept[day] = value
    unread = [d for d in days if d not in kept]
    start = day_bounds(min(unread), zone)[0] if unread else None
    return _Span(start, kept, settled)


def _keep(
    span: _Span, read: dict[date, Any], cache: DayCache | None, key: tuple[object, ...]
) -> None:
    if cache is None or span.start is None:
        return
    for day in span.settled - set(span.kept):
        cache.put((*key, day), read[day])


@dataclass(frozen=True)
class _DayOutcomes:
    calls: int
    reached: int
    said: dict[str, int]


@dataclass(frozen=True)
class DailyOutcomes:
    days: list[date]
    calls: list[int]  # calls placed each day
    reached: list[int]  # answered
    by_outcome: dict[str, list[int]]  # each of OUTCOMES, per day


async def outcomes(
    session: AsyncSession,
    account_id: str,
    now: datetime,
    zone: ZoneInfo,
    days: int = 14,
    cache: DayCache | None = None,
) -> DailyOutcomes:
    """Calls placed, debtors reached and what they said, per local day."""
    day_list = last_days(now, zone, days)
    key = (account_id, "outcomes", zone.key)
    span = _span(day_list, zone, now, cache, key)
    counts: dict[date, list[int]] = {d: [0, 0] for d in day_list}
    said: dict[date, dict[str, int]] = {d: {} for d in day_list}
    if span.start is not None:
        rows = await repository.outcomes_by_hour(
            session, account_id, span.start, now + timedelta(hours=1)
        )
        for hour, answered, outcome, count in rows:
            day = hour.astimezone(zone).date()
            if day not in counts or day in span.kept:
                continue
            counts[day][0] += count
            if answered:
                counts[day][1] += count
            if outcome is not None:
                said[day][outcome] = said[day].get(outcome, 0) + count
    read = {d: _DayOutcomes(counts[d][0], counts[d][1], said[d]) for d in day_list}
    _keep(span, read, cache, key)
    per_day = [span.kept.get(d) or read[d] for d in day_list]
    return DailyOutcomes(
        day_list,
        [d.calls for d in per_day],
        [d.reached for d in per_day],
        {o: [d.said.get(o, 0) for d in per_day] for o in OUTCOMES},
    )


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


# One day's sums: currency -> (amount, how many).
_DaySums = dict[str, tuple[Decimal, int]]


async def _daily_sums(
    session: AsyncSession,
    account_id: str,
    kind: EventType,
    day_list: list[date],
    now: datetime,
    zone: ZoneInfo,
    cache: DayCache | None,
) -> dict[date, _DaySums]:
    key = (account_id, kind.value, zone.key)
    span = _span(day_list, zone, now, cache, key)
    read: dict[date, _DaySums] = {d: {} for d in day_list}
    if span.start is not None:
        events = await repository.money_events(
            session, account_id, kind, span.start, now + timedelta(seconds=1)
        )
        for event in events:
            day = event.time.astimezone(zone).date()
            if day not in read or day in span.kept:
                continue
            amount, count = read[day].get(event.currency, (Decimal(0), 0))
            read[day][event.currency] = (amount + event.amount, count + 1)
    _keep(span, read, cache, key)
    return {d: span.kept.get(d) or read[d] for d in day_list}


async def money(
    session: AsyncSession,
    account_id: str,
    now: datetime,
    zone: ZoneInfo,
    days: int = 14,
    latest: int = 10,
    cache: DayCache | None = None,
) -> Money:
    """Amounts promised (``invoice.promised``) and recovered (``invoice.paid``) per day."""
    day_list = last_days(now, zone, days)
    promised = await _daily_sums(
        session, account_id, EventType.INVOICE_PROMISED, day_list, now, zone, cache
    )
    paid = await _daily_sums(
        session, account_id, EventType.INVOICE_PAID, day_list, now, zone, cache
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for sums in (*promised.values(), *paid.values()):
        for currency, (amount, _) in sums.items():
            totals[currency] += amount
    currencies = sorted(totals, key=lambda c: (-totals[c], c))

    def series(per_day: dict[date, _DaySums]) -> dict[str, list[Decimal]]:
        return {c: [per_day[d].get(c, (Decimal(0), 0))[0] for d in day_list] for c in currencies}

    def count(per_day: dict[date, _DaySums]) -> int:
        return sum(n for sums in per_day.values() for _, n in sums.values())

    start, _ = day_bounds(day_list[0], zone)
    newest = await repository.latest_money_events(
        session, account_id, EventType.INVOICE_PROMISED, start, latest
    )
    promises = [
        Promise(e.time, e.invoice_id, e.amount, e.currency, e.promised_date) for e in newest
    ]
    return Money(
        day_list,
        currencies,
        series(promised),
        series(paid),
        promises,
        count(promised),
        count(paid),
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
