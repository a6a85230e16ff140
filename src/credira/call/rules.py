"""When a debtor may be called: the rules checked at the moment of dialling.

Pure policy (no SQL, no HTTP, no wall clock): every instant is passed in, aware, and compared
in UTC. The rules, in the order their hold reasons are reported:

1. never to an opted-out number (``opted_out``), never once the invoice is not open
   (``invoice_<status>``): both final, ``not_before`` is None;
2. at most ``FREQUENCY_LIMIT`` attempts per invoice in any rolling ``FREQUENCY_PERIOD``
   (``frequency_limit``);
3. none within ``QUIET_PERIOD`` after the end of the last conversation about the invoice
   (``conversation_quiet_period``);
4. optionally none on a public holiday of the debtor's country, judged by the local date in
   each of the debtor's zones (``public_holiday``);
5. only between ``WINDOW_START`` and ``WINDOW_END`` local time in every one of the debtor's
   zones (``outside_calling_window``).

A debtor's prior consent to a call at that time (a callback they asked for) lifts rules 2 and
3 only. When a call is blocked, :func:`check_call` also gives the earliest instant at which
every rule holds at once, found exactly (not by stepping) across DST transitions and
non-hour offsets; if none exists within ``SEARCH_HORIZON`` the hold is ``no_calling_window``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from phonenumbers import timezone as phone_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

WINDOW_START = time(8, 0)
WINDOW_END = time(21, 0)
FREQUENCY_LIMIT = 7
FREQUENCY_PERIOD = timedelta(days=7)
QUIET_PERIOD = timedelta(days=7)
# How far past the end of the frequency and quiet holds the window is looked for. Far more
# than any run of holidays; only zones whose windows never overlap exhaust it.
SEARCH_HORIZON = timedelta(days=14)

CALLABLE_INVOICE_STATUSES = frozenset({"open"})

OUTSIDE_CALLING_WINDOW = "outside_calling_window"
FREQUENCY_LIMIT_REACHED = "frequency_limit"
CONVERSATION_QUIET_PERIOD = "conversation_quiet_period"
OPTED_OUT = "opted_out"
PUBLIC_HOLIDAY = "public_holiday"
NO_CALLING_WINDOW = "no_calling_window"

_UNKNOWN_ZONE = "Etc/Unknown"
_SAMPLE_STEP = timedelta(hours=1)


class UnknownTimeZone(ValueError):
    """No time zone can be found for a debtor: the call must not be placed."""


@dataclass(frozen=True)
class CallHistory:
    """What has already happened for one invoice."""

    attempts: Sequence[datetime] = ()
    """When each call attempt for this invoice was placed."""
    last_conversation_end: datetime | None = None
    """End of the last answered conversation about the invoice."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    not_before: datetime | None
    """Earliest instant (UTC) the call may be placed, ``at`` itself when allowed; None when
    it never may (or no window opens within the search horizon)."""
    hold_reason: str | None = None


# -- zones -------------------------------------------------------------------------------


def debtor_zones(
    contact_zone: str | None, customer_zone: str | None, phone: str
) -> tuple[ZoneInfo, ...]:
    """The zones the calling window must hold in, never empty.

    The contact's zone, else the invoice customer's, else every zone of the phone number. A
    number whose zones phonenumbers cannot tell (an unassigned area code, an invalid number)
    gets every zone of its country calling code, so that the window holds wherever it rings.
    Raises :class:`UnknownTimeZone` when even that is unknown: such a number is not called.
    """
    for name in (contact_zone, customer_zone):
        zone = _load_zone(name) if name else None
        if zone is not None:
            return (zone,)
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException as exc:
        raise UnknownTimeZone(f"cannot parse phone number {phone!r}") from exc
    zones = _load_zones(phone_timezone.time_zones_for_number(number))
    if not zones and number.country_code is not None:
        zones = _load_zones(_calling_code_zone_names(number.country_code))
    if not zones:
        raise UnknownTimeZone(f"no time zone known for {phone!r}")
    return zones


def _calling_code_zone_names(country_code: int) -> tuple[str, ...]:
    """Every zone phonenumbers' prefix metadata gives for a country calling code.

    Calling codes are prefix-free, so the prefixes of one code are exactly the keys that
    start with it.
    """
    code = str(country_code)
    names: dict[str, None] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        if prefix.startswith(code):
            names.update(dict.fromkeys(zones))
    return tuple(names)


def _load_zones(names: Iterable[str]) -> tuple[ZoneInfo, ...]:
    zones: dict[ZoneInfo, None] = {}
    for name in names:
        zone = _load_zone(name)
        if zone is not None:
            zones[zone] = None
    return tuple(zones)


def _load_zone(name: str | None) -> ZoneInfo | None:
    if not name or name == _UNKNOWN_ZONE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def holiday_countries(phone: str) -> tuple[str, ...]:
    """ISO 3166 countries whose public holidays apply to a number.

    The number's region; for a number phonenumbers cannot place, every region of its calling
    code (as with zones, the careful side). Only countries the holidays library knows.
    """
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ()
    region: str | None = phonenumbers.region_code_for_number(number)
    if region:
        regions: tuple[str, ...] = (region,)
    elif number.country_code is not None:
        regions = tuple(phonenumbers.region_codes_for_country_code(number.country_code))
    else:
        return ()
    return tuple(r for r in regions if r in _supported_countries())


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=512)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    # The library files each date under its own year, a holiday observed across New Year
    # included (the US New Year's Day of 2022 is observed on 2021-12-31, in 2021's calendar).
    calendar = holidays.country_holidays(country, years=year)
    return frozenset(day for day in calendar if day.year == year)


# -- the window --------------------------------------------------------------------------


def in_window(at: datetime, zones: Sequence[ZoneInfo]) -> bool:
    """True only when local time in every zone is in [WINDOW_START, WINDOW_END).

    No zone at all is never in the window: not knowing where the debtor is means not calling.
    """
    _require_aware(at)
    if not zones:
        return False
    return all(WINDOW_START <= at.astimezone(zone).time() < WINDOW_END for zone in zones)


def is_holiday(at: datetime, zones: Sequence[ZoneInfo], countries: Sequence[str]) -> bool:
    """True when the local date in any zone is a public holiday of any country."""
    _require_aware(at)
    for zone in zones:
        day = at.astimezone(zone).date()
        if any(day in _holiday_dates(country, day.year) for country in countries):
            return True
    return False


# -- the decision ------------------------------------------------------------------------

PROMISE_TO_PAY = "promise_to_pay"


def promise_hold(at: datetime, promised: date | None, zone: ZoneInfo) -> Decision | None:
    """A debtor who promised to pay by ``promised`` is not called before that day begins in
    ``zone`` (their first zone): the hold until then, or None when there is none."""
    if promised is None or _utc(at).astimezone(zone).date() >= promised:
        return None
    return Decision(False, datetime.combine(promised, time.min, zone), PROMISE_TO_PAY)


def check_call(
    at: datetime,
    *,
    zones: Sequence[ZoneInfo],
    history: CallHistory,
    invoice_status: str,
    opted_out: bool,
    holidays_in: Sequence[str] = (),
    consented: bool = False,
) -> Decision:
    """May a call about this invoice be placed at ``at``; if not, from when.

    ``consented``: the debtor asked to be called at this time (Reg F's prior consent), which
    lifts the frequency limit and the quiet period, nothing else.
    """
    at = _utc(at)
    if opted_out:
        return Decision(False, None, OPTED_OUT)
    if invoice_status not in CALLABLE_INVOICE_STATUSES:
        return Decision(False, None, f"invoice_{invoice_status}")
    unknown = [c for c in holidays_in if c not in _supported_countries()]
    if unknown:
        raise ValueError(f"no public holiday calendar for {', '.join(unknown)}")
    rules = _Rules(tuple(zones), history, tuple(holidays_in), consented)
    reason = rules.blocker(at)
    if reason is None:
        return Decision(True, at, None)
    if not zones:
        return Decision(False, None, NO_CALLING_WINDOW)
    not_before = rules.earliest(at)
    if not_before is None:
        return Decision(False, None, NO_CALLING_WINDOW)
    return Decision(False, not_before, reason)


def next_allowed(
    at: datetime,
    *,
    zones: Sequence[ZoneInfo],
    history: CallHistory,
    invoice_status: str,
    opted_out: bool,
    holidays_in: Sequence[str] = (),
    consented: bool = False,
) -> datetime | None:
    """The earliest instant >= ``at`` at which the call may be placed, or None if never."""
    return check_call(
        at,
        zones=zones,
        history=history,
        invoice_status=invoice_status,
        opted_out=opted_out,
        holidays_in=holidays_in,
        consented=consented,
    ).not_before


class _Rules:
    """The time-dependent rules for one call, with exact earliest-instant search.

    Each rule allows a finite union of intervals closed on the left and open on the right,
    so the earliest allowed instant >= ``at`` is ``at`` itself or the left end of one rule's
    interval: a zone's local 08:00 (either fold), a zone's offset transition (a jump can
    land inside the window), an attempt leaving the rolling period, or the quiet period's
    end. Checking those candidates in order with the exact rules finds it.
    """

    def __init__(
        self,
        zones: tuple[ZoneInfo, ...],
        history: CallHistory,
        countries: tuple[str, ...],
        consented: bool,
    ) -> None:
        self.zones = zones
        self.countries = countries
        self.consented = consented
        self.attempts = sorted(_utc(a) for a in history.attempts)
        end = history.last_conversation_end
        self.quiet_until = _utc(end) + QUIET_PERIOD if end is not None else None

    def blocker(self, at: datetime) -> str | None:
        if not self.consented:
            if self._attempts_in_period(at) >= FREQUENCY_LIMIT:
                return FREQUENCY_LIMIT_REACHED
            if self.quiet_until is not None and at < self.quiet_until:
                return CONVERSATION_QUIET_PERIOD
        if self.countries and is_holiday(at, self.zones, self.countries):
            return PUBLIC_HOLIDAY
        if not in_window(at, self.zones):
            return OUTSIDE_CALLING_WINDOW
        return None

    def _attempts_in_period(self, at: datetime) -> int:
        """Attempts in (at - FREQUENCY_PERIOD, at]."""
        lo = bisect.bisect_right(self.attempts, at - FREQUENCY_PERIOD)
        hi = bisect.bisect_right(self.attempts, at)
        return hi - lo

    def _releases(self) -> Iterator[datetime]:
        """Instants at which an attempt leaves the rolling period."""
        return (a + FREQUENCY_PERIOD for a in self.attempts)

    def earliest(self, at: datetime) -> datetime | None:
        start = self._lower_bound(at)
        horizon = start + SEARCH_HORIZON
        candidates = {at, start}
        if not self.consented:
            candidates.update(r for r in self._releases() if start <= r <= horizon)
        for zone in self.zones:
            candidates.update(_openings(zone, start, horizon))
            candidates.update(_transitions(zone, start, horizon))
        for candidate in sorted(c for c in candidates if start <= c <= horizon):
            if self.blocker(candidate) is None:
                return candidate
        return None

    def _lower_bound(self, at: datetime) -> datetime:
        """No instant before this passes the frequency limit and the quiet period."""
        if self.consented:
            return at
        start = at
        if self.quiet_until is not None:
            start = max(start, self.quiet_until)
        for release in sorted({start, *(r for r in self._releases() if r > start)}):
            if self._attempts_in_period(release) < FREQUENCY_LIMIT:
                return release
        return start  # unreachable: past the last release no attempt is in the period


def _openings(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every instant in [start, end] whose wall clock in ``zone`` reads WINDOW_START."""
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for fold in (0, 1):
            local = datetime.combine(day, WINDOW_START, tzinfo=zone).replace(fold=fold)
            instant = local.astimezone(UTC)
            # Only a wall time that really occurs opens the window; one in a gap is skipped
            # and the transition at the gap's end stands in for it.
            if instant.astimezone(zone).time() == WINDOW_START and start <= instant <= end:
                yield instant
        day += timedelta(days=1)


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Instants in [start, end] at which ``zone`` changes its UTC offset."""
    day = start.date()
    while day <= end.date():
        for instant in _transitions_on(zone, day):
            if start <= instant <= end:
                yield instant
        day += timedelta(days=1)


@lru_cache(maxsize=8192)
def _transitions_on(zone: ZoneInfo, day: date) -> tuple[datetime, ...]:
    """Offset transitions of ``zone`` during one UTC day, to the second.

    Sampled hourly then bisected; no zone changes offset twice within an hour.
    """
    found: list[datetime] = []
    lo = datetime.combine(day, time(0), tzinfo=UTC)
    offset = lo.astimezone(zone).utcoffset()
    for _ in range(24):
        hi = lo + _SAMPLE_STEP
        hi_offset = hi.astimezone(zone).utcoffset()
        if hi_offset != offset:
            a, b = lo, hi  # offset(a) == offset, offset(b) != offset
            while b - a > timedelta(seconds=1):
                mid = a + timedelta(seconds=(b - a) // timedelta(seconds=1) // 2)
                if mid.astimezone(zone).utcoffset() == offset:
                    a = mid
                else:
                    b = mid
            found.append(b)
            offset = hi_offset
        lo = hi
    return tuple(found)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("calling rules need aware datetimes")


def _utc(at: datetime) -> datetime:
    _require_aware(at)
    return at.astimezone(UTC)
