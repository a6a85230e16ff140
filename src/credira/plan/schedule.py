"""When each step of a collection plan happens for one invoice: the one scheduling code that
the preview (``GET /v1/invoices/{id}/schedule``, ``POST /v1/collection-plans/{id}/preview``)
and the worker's step creation both run, so that what is shown is what is done.

Pure (no SQL, no HTTP, no wall clock): the plan, the invoice's facts, the contact facts and
the instant ``now`` are passed in.

A plan's **timeline** for an invoice depends only on the plan and the invoice: step ``i`` is
due on the due date plus its offset (or the day the previous step happened plus its offset)
at its local time in the debtor's zone; a plan-wide minimum gap pushes it after the previous
contact (to the step's next local window when the push leaves it); weekends and the debtor
country's public holidays, when the plan skips them, move it to the next allowed day at the
same local time; and no two steps that contact fall on one local day (a step the previous one
was moved onto goes a day later). What happens at a step's time also depends on the moment:
a paused invoice lets it pass, an opted-out number drops its call, a small balance skips it.
The calling rules (``credira.call.rules``: the local calling window, 7 in 7...) still decide
when a step's call is dialled: ``call_time`` shows when that will be, as far as the rules can
tell ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from credira.call import rules

CALL = "call"
EMAIL = "email"
_UTC = ZoneInfo("UTC")

# Why a step moved or did not run, as the schedule and the step's record say it.
WEEKEND = "weekend"
PUBLIC_HOLIDAY = "public_holiday"
MIN_GAP = "min_gap"
AFTER_PREVIOUS = "after_previous_step"
WINDOW = "step_window"
PAUSED = "paused"
PROMISE_TO_PAY = "promise_to_pay"
BELOW_MIN_AMOUNT = "below_min_amount"
PREVIOUS_REACHED = "previous_step_reached_debtor"
OPTED_OUT = "opted_out"
EMAIL_SUPPRESSED = "email_suppressed"
NO_PHONE = "no_phone"
NO_EMAIL = "no_email"
ZONE_UNKNOWN = "zone_unknown"


class Anchor(StrEnum):
    DUE_DATE = "due_date"
    PREVIOUS_STEP = "previous_step"


class RunStatus(StrEnum):
    """An invoice's place in its plan (``Invoice.plan_status``)."""

    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Step:
    offset_days: int
    anchor: Anchor
    at: time
    window_end: time | None
    channels: frozenset[str]
    voice_agent_id: str | None = None
    template_id: str | None = None
    priority: str = "medium"
    type: str = "payment_reminder"
    min_amount_due: Decimal | None = None
    only_if_previous_unreached: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def window(self) -> tuple[time, time]:
        return self.at, self.window_end or self.at


@dataclass(frozen=True)
class Plan:
    id: str
    steps: tuple[Step, ...]
    min_gap: timedelta = timedelta(0)
    skip_weekends: bool = False
    skip_holidays: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Debtor:
    """The invoice's facts a schedule depends on."""

    due_date: date
    amount: Decimal
    timezone: str | None
    phone: str | None
    email: str | None
    country: str | None = None
    status: str = "open"
    promised_date: date | None = None


@dataclass(frozen=True)
class Contact:
    """What the contact rules know ahead: opt-outs, and the account's holiday setting."""

    phone_opted_out: bool = False
    email_suppressed: bool = False
    observe_holidays: bool = False


@dataclass(frozen=True)
class Run:
    """The invoice's place in its plan: the next step's position, and a pause by hand (None
    until: until resumed)."""

    status: RunStatus = RunStatus.ACTIVE
    next_step: int = 0
    paused_until: datetime | None = None


@dataclass(frozen=True)
class Slot:
    """Step ``index`` on the timeline: when it was meant for (``nominal``) and when it happens
    (``at``), the rules that moved it, and ``skip`` when its conditions rule it out."""

    index: int
    nominal: datetime
    at: datetime
    moved_by: tuple[str, ...]
    skip: str | None


@dataclass(frozen=True)
class Entry:
    """One future contact (or a step that will not contact, ``blocked``), as both the schedule
    and the worker see it."""

    index: int
    at: datetime
    zone: ZoneInfo
    channels: tuple[str, ...]
    moved_by: tuple[str, ...]
    blocked: str | None
    conditional: bool
    call_time: datetime | None
    call_rule: str | None
    dropped: tuple[str, ...]


# -- the debtor's place ----------------------------------------------------------------------


def zone_of(debtor: Debtor) -> tuple[ZoneInfo, bool]:
    """The zone the plan's local times are read in: the invoice's, else the phone number's
    first (as the calling rules find it), else UTC (and False: unknown)."""
    try:
        zones = rules.debtor_zones(None, debtor.timezone, debtor.phone or "")
    except rules.UnknownTimeZone:
        return ZoneInfo("UTC"), False
    return zones[0], True


def countries_of(debtor: Debtor) -> tuple[str, ...]:
    """The countries whose public holidays a plan skips: the one given, else the phone's."""
    if debtor.country:
        return (debtor.country.upper(),)
    return _phone_countries(debtor.phone) if debtor.phone else ()


@lru_cache(maxsize=65536)
def _phone_countries(phone: str) -> tuple[str, ...]:
    # Parsing a number costs tens of microseconds; an import schedules thousands of invoices.
    return rules.holiday_countries(phone)


@lru_cache(maxsize=65536)
def _is_holiday(day: date, countries: tuple[str, ...]) -> bool:
    """Whether ``day`` is a public holiday of any of ``countries`` (noon UTC of that date
    reads as that date in UTC)."""
    return rules.is_holiday(datetime.combine(day, time(12), UTC), (_UTC,), countries)


def local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of ``at`` on ``day`` in ``zone``. A wall time the zone skips (a
    spring-forward gap) is read with the offset before the gap, so 02:30 becomes 03:30."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


# -- the timeline ----------------------------------------------------------------------------


# Timelines by what they depend on: the invoices of an import share a few due dates and zones.
_TIMELINES: dict[tuple[Any, ...], tuple[Plan, tuple[Slot, ...]]] = {}
_TIMELINES_KEPT = 20_000


def timeline(plan: Plan, debtor: Debtor) -> list[Slot]:
    """Every step's time for this invoice, in order (see the module's docstring)."""
    zone, _ = zone_of(debtor)
    countries = countries_of(debtor) if plan.skip_holidays else ()
    below = tuple(
        s.min_amount_due is not None and debtor.amount < s.min_amount_due for s in plan.steps
    )
    key = (id(plan), debtor.due_date, zone.key, countries, below)
    kept = _TIMELINES.get(key)
    if kept is not None and kept[0] is plan:
        return list(kept[1])
    slots = _timeline(plan, debtor.due_date, zone, countries, below)
    if len(_TIMELINES) >= _TIMELINES_KEPT:
        _TIMELINES.clear()
    _TIMELINES[key] = (plan, tuple(slots))
    return slots


def _timeline(
    plan: Plan, due_date: date, zone: ZoneInfo, countries: tuple[str, ...], below: tuple[bool, ...]
) -> list[Slot]:
    slots: list[Slot] = []
    previous_day: date | None = None
    last_contact: datetime | None = None
    last_day: date | None = None
    for index, step in enumerate(plan.steps):
        moved: list[str] = []
        try:
            if step.anchor == Anchor.PREVIOUS_STEP and previous_day is not None:
                day = previous_day + timedelta(days=step.offset_days)
            else:
                day = due_date + timedelta(days=step.offset_days)
            nominal = local(day, step.at, zone)
            if last_day is not None and day <= last_day:
                # The last contact was moved onto or past this one's day: one day after it.
                day = last_day + timedelta(days=1)
                moved.append(AFTER_PREVIOUS)
            at = local(day, step.at, zone)
            if last_contact is not None and plan.min_gap and at < last_contact + plan.min_gap:
                at = _fit(last_contact + plan.min_gap, step, zone)
                moved.append(MIN_GAP)
            at = _defer(at, step, zone, plan.skip_weekends, countries, moved)
        except OverflowError:
            break  # past the year 9999: this step and those after it never come
        skip = BELOW_MIN_AMOUNT if below[index] else None
        slots.append(Slot(index, nominal, at, tuple(moved), skip))
        previous_day = at.astimezone(zone).date()
        if skip is None:
            last_contact, last_day = at, previous_day
    return slots


def _fit(at: datetime, step: Step, zone: ZoneInfo) -> datetime:
    """``at``, or the start of the step's local window when ``at`` is outside it (that day's
    when before it, the next day's when after)."""
    start, end = step.window
    wall = at.astimezone(zone)
    if wall.time() < start:
        return local(wall.date(), start, zone)
    if wall.time() > end:
        return local(wall.date() + timedelta(days=1), start, zone)
    return at


def _defer(
    at: datetime,
    step: Step,
    zone: ZoneInfo,
    skip_weekends: bool,
    countries: Sequence[str],
    moved: list[str],
) -> datetime:
    """Move ``at`` to the next allowed day at the step's local time while its local day is a
    weekend or a public holiday (each reason once in ``moved``)."""
    for _ in range(370):  # no calendar holds a year of holidays
        day = at.astimezone(zone).date()
        if skip_weekends and day.weekday() >= 5:
            reason = WEEKEND
        elif countries and _is_holiday(day, tuple(countries)):
            reason = PUBLIC_HOLIDAY
        else:
            return at
        if reason not in moved:
            moved.append(reason)
        at = local(day + timedelta(days=1), step.at, zone)
    return at


# -- what happens from now on ----------------------------------------------------------------


def pause_end(debtor: Debtor, run: Run, now: datetime) -> tuple[datetime | None, str | None]:
    """Until when the plan is held at ``now`` and why: a pause by hand, or a promise to pay
    until the promised day begins in the debtor's zone. ``(None, PAUSED)`` is a pause until
    resumed; ``(None, None)`` no pause."""
    if run.status == RunStatus.PAUSED and run.paused_until is None:
        return None, PAUSED
    ends: list[tuple[datetime, str]] = []
    if run.status == RunStatus.PAUSED and run.paused_until is not None and run.paused_until > now:
        ends.append((run.paused_until, PAUSED))
    if debtor.promised_date is not None:
        zone, _ = zone_of(debtor)
        promised = local(debtor.promised_date, time.min, zone)
        if promised > now:
            ends.append((promised, PROMISE_TO_PAY))
    if not ends:
        return None, None
    return max(ends)


def entry(
    plan: Plan, slot: Slot, debtor: Debtor, contact: Contact, zone: ZoneInfo, known: bool
) -> Entry:
    """What step ``slot`` does at its time: its channels once the contact rules are applied,
    or why it does nothing, and when its call may be dialled."""
    step = plan.steps[slot.index]
    channels: list[str] = []
    dropped: list[str] = []
    if CALL in step.channels:
        if not debtor.phone:
            dropped.append(NO_PHONE)
        elif contact.phone_opted_out:
            dropped.append(OPTED_OUT)
        elif not known:
            dropped.append(ZONE_UNKNOWN)
        else:
            channels.append(CALL)
    if EMAIL in step.channels:
        if not debtor.email:
            dropped.append(NO_EMAIL)
        elif contact.email_suppressed:
            dropped.append(EMAIL_SUPPRESSED)
        else:
            channels.append(EMAIL)
    blocked = slot.skip
    if blocked is None and not channels:
        blocked = dropped[0] if dropped else NO_PHONE
    call_time = call_rule = None
    if blocked is None and CALL in channels:
        call_time, call_rule = _call_time(slot.at, debtor, contact)
    return Entry(
        index=slot.index,
        at=slot.at,
        zone=zone,
        channels=tuple(channels) if blocked is None else (),
        moved_by=slot.moved_by,
        blocked=blocked,
        conditional=step.only_if_previous_unreached and slot.index > 0,
        call_time=call_time,
        call_rule=call_rule,
        dropped=tuple(dropped),
    )


def _call_time(
    at: datetime, debtor: Debtor, contact: Contact
) -> tuple[datetime | None, str | None]:
    """When the calling rules let the step's call be dialled, as far as they can tell ahead
    (the calls made by then are not known): the calling window and, when the account observes
    them, public holidays."""
    try:
        zones = rules.debtor_zones(None, debtor.timezone, debtor.phone or "")
    except rules.UnknownTimeZone:
        return None, rules.NO_CALLING_WINDOW
    holidays_in = rules.holiday_countries(debtor.phone or "") if contact.observe_holidays else ()
    try:
        decision = rules.check_call(
            at,
            zones=zones,
            history=rules.CallHistory(),
            invoice_status="open",
            opted_out=False,
            holidays_in=holidays_in,
        )
    except OverflowError:
        return None, rules.NO_CALLING_WINDOW
    return decision.not_before, decision.hold_reason


def upcoming(plan: Plan, debtor: Debtor, contact: Contact, run: Run, now: datetime) -> list[Entry]:
    """Every step still to come for the invoice, from ``run.next_step``: the schedule. Steps
    that a pause will let pass are listed blocked (``paused``, ``promise_to_pay``)."""
    if run.status in (RunStatus.STOPPED, RunStatus.COMPLETED) or debtor.status != "open":
        return []
    zone, known = zone_of(debtor)
    until, why = pause_end(debtor, run, now)
    if why is None and run.status == RunStatus.PAUSED:
        # A pause that is over and not yet resumed by the worker: what came due in it passes.
        until, why = run.paused_until or now, PAUSED
    entries = []
    for slot in timeline(plan, debtor)[run.next_step :]:
        item = entry(plan, slot, debtor, contact, zone, known)
        if why is not None and (until is None or slot.at < until):
            item = _blocked(item, why)
        entries.append(item)
    return entries


def _blocked(item: Entry, reason: str) -> Entry:
    return Entry(
        index=item.index,
        at=item.at,
        zone=item.zone,
        channels=(),
        moved_by=item.moved_by,
        blocked=reason,
        conditional=item.conditional,
        call_time=None,
        call_rule=None,
        dropped=item.dropped,
    )


# -- what the worker does at ``now`` ---------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """What the worker does for one invoice at ``now``.

    ``kind``: ``run`` (step ``entry.index`` is due: make its callout, or record it blocked),
    ``wait`` (nothing due before ``wake``), ``pause`` (held until ``wake``, None: until
    resumed, for ``reason``), ``resume`` (the pause is over; the steps ``skipped`` came due
    during it and have passed), ``complete`` (no step left), ``stop`` (the invoice is
    settled: ``reason``)."""

    kind: str
    entry: Entry | None = None
    wake: datetime | None = None
    reason: str | None = None
    skipped: tuple[int, ...] = ()


def next_action(plan: Plan, debtor: Debtor, contact: Contact, run: Run, now: datetime) -> Action:
    """The worker's decision for an invoice whose plan is due at ``now``."""
    if debtor.status != "open":
        return Action("stop", reason=f"invoice {debtor.status}")
    slots = timeline(plan, debtor)
    if run.next_step >= len(slots):
        return Action("complete")
    until, why = pause_end(debtor, run, now)
    if why is not None:
        return Action("pause", wake=until, reason=why)
    if run.status == RunStatus.PAUSED:
        # The pause is over: the steps due during it have passed (as the schedule showed).
        boundary = run.paused_until or now
        passed = tuple(s.index for s in slots[run.next_step :] if s.at < boundary)
        return Action("resume", skipped=passed)
    slot = slots[run.next_step]
    if slot.at > now:
        return Action("wait", wake=slot.at)
    zone, known = zone_of(debtor)
    return Action("run", entry=entry(plan, slot, debtor, contact, zone, known))


def start(plan: Plan, debtor: Debtor, after: datetime) -> tuple[int, datetime | None]:
    """Where a plan attached at ``after`` begins (the steps due before it have passed) and
    when that step is due (None: no step left)."""
    for slot in timeline(plan, debtor):
        if slot.at >= after:
            return slot.index, slot.at
    return len(plan.steps), None


def first_step_after(plan: Plan, debtor: Debtor, after: datetime, start: int = 0) -> int:
    """The position of the first step from ``start`` due at or after ``after``: where a plan
    attached (or resumed) at ``after`` goes on; the steps before it have passed."""
    slots = timeline(plan, debtor)
    for slot in slots[start:]:
        if slot.at >= after:
            return slot.index
    return len(slots)


def wake_time(plan: Plan, debtor: Debtor, step: int) -> datetime | None:
    """When step ``step`` is due (None: no step left)."""
    slots = timeline(plan, debtor)
    return slots[step].at if step < len(slots) else None
