"""The calling rules: examples per rule and hold reason, then properties over zones and time.

The property tests judge ``check_call`` against ``breaches``, an independent and deliberately
naive restatement of the rules (no search, no caching), over random instants (biased towards
DST transitions and the window's edges), zone sets, histories and holiday calendars.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credira.call.rules import (
    FREQUENCY_LIMIT,
    FREQUENCY_PERIOD,
    QUIET_PERIOD,
    SEARCH_HORIZON,
    CallHistory,
    Decision,
    UnknownTimeZone,
    check_call,
    debtor_zones,
    holiday_countries,
    in_window,
    next_allowed,
)

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")
US_ZONES = {"America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"}
NO_HISTORY = CallHistory(attempts=(), last_conversation_end=None)
MICROSECOND = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


def check(
    at: datetime,
    zones: Sequence[ZoneInfo] = (NY,),
    history: CallHistory = NO_HISTORY,
    *,
    status: str = "open",
    opted_out: bool = False,
    holidays_in: Sequence[str] = (),
    consented: bool = False,
) -> Decision:
    return check_call(
        at,
        zones=zones,
        history=history,
        invoice_status=status,
        opted_out=opted_out,
        holidays_in=holidays_in,
        consented=consented,
    )


# -- where the debtor is -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "customer", "phone", "expected"),
    [
        ("Europe/Berlin", "Asia/Tokyo", "+12125550100", ("Europe/Berlin",)),
        (None, "Asia/Tokyo", "+12125550100", ("Asia/Tokyo",)),
        (None, None, "+12125550100", ("America/New_York",)),
        ("Not/AZone", None, "+12125550100", ("America/New_York",)),
        ("", "", "+81312345678", ("Asia/Tokyo",)),
    ],
)
def test_debtor_zones_prefer_contact_then_customer_then_phone(
    contact: str | None, customer: str | None, phone: str, expected: tuple[str, ...]
) -> None:
    assert tuple(z.key for z in debtor_zones(contact, customer, phone)) == expected


@pytest.mark.parametrize("phone", ["+1234567890", "+15555550100"])
def test_debtor_zones_of_unknown_number_are_every_zone_of_its_calling_code(phone: str) -> None:
    keys = {z.key for z in debtor_zones(None, None, phone)}

    assert keys >= US_ZONES | {"America/Toronto", "America/St_Johns", "Pacific/Guam"}
    assert "Etc/Unknown" not in keys
    assert not any(k.startswith("Europe/") for k in keys)


def test_unknown_number_is_called_only_when_every_zone_of_the_code_is_in_window() -> None:
    zones = debtor_zones(None, None, "+15555550100")
    noon_in_new_york = local(NY, 2025, 7, 1, 12, 0)

    decision = check(noon_in_new_york, zones)

    # Noon in New York is 02:00 in Guam: the call waits until Guam and Pago Pago are awake.
    assert decision.hold_reason == "outside_calling_window"
    assert decision.not_before is not None
    assert all(in_window(decision.not_before, [z]) for z in zones)
    assert check(decision.not_before, zones).allowed


def test_debtor_zones_of_multi_zone_country_must_all_be_in_window() -> None:
    zones = debtor_zones(None, None, "+79161234567")  # a Russian mobile: country-wide
    keys = {z.key for z in zones}
    assert {"Europe/Moscow", "Asia/Vladivostok", "Asia/Kamchatka"} <= keys

    # 08:30 in Moscow is 17:30 in Kamchatka but 07:30 in Bucharest, which phonenumbers'
    # metadata also lists for +7: not yet.
    at = local(ZoneInfo("Europe/Moscow"), 2025, 1, 15, 8, 30)
    assert in_window(at, [ZoneInfo("Europe/Moscow")])
    decision = check(at, zones)
    assert decision.hold_reason == "outside_calling_window"
    assert decision.not_before == local(ZoneInfo("Europe/Bucharest"), 2025, 1, 15, 8, 0)


@pytest.mark.parametrize("phone", ["+8005551234", "not a number", "+999"])
def test_debtor_zones_refuse_a_number_with_no_known_zone(phone: str) -> None:
    with pytest.raises(UnknownTimeZone):
        debtor_zones(None, None, phone)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+12125550100", ("US",)),
        ("+493012345678", ("DE",)),
        ("+81312345678", ("JP",)),
        ("+8005551234", ()),
        ("garbage", ()),
    ],
)
def test_holiday_countries_is_the_number_region(phone: str, expected: tuple[str, ...]) -> None:
    assert holiday_countries(phone) == expected


def test_holiday_countries_of_unknown_number_cover_its_calling_code() -> None:
    assert {"US", "CA"} <= set(holiday_countries("+15555550100"))


# -- the window --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "inside"),
    [
        (time(7, 59, 59, 999999), False),
        (time(8, 0), True),
        (time(14, 0), True),
        (time(20, 59, 59, 999999), True),
        (time(21, 0), False),
        (time(0, 0), False),
    ],
)
def test_window_is_eight_to_nine_local_half_open(wall: time, inside: bool) -> None:
    at = datetime.combine(date(2025, 3, 12), wall, tzinfo=NY)
    assert in_window(at, [NY]) is inside


def test_window_must_hold_in_every_zone() -> None:
    at = local(NY, 2025, 6, 2, 9, 0)  # 06:00 in Los Angeles
    assert in_window(at, [NY])
    assert not in_window(at, [NY, LA])
    assert not in_window(at, [])


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        in_window(datetime(2025, 1, 1, 12), [NY])
    with pytest.raises(ValueError, match="aware"):
        check(datetime(2025, 1, 1, 12))


def test_unknown_holiday_country_is_refused() -> None:
    with pytest.raises(ValueError, match="XX"):
        check(local(NY, 2025, 3, 12, 12), holidays_in=["XX"])


# -- each decision -----------------------------------------------------------------------


def test_call_inside_window_with_clean_history_is_allowed_now() -> None:
    at = local(NY, 2025, 3, 12, 12, 0)
    assert check(at) == Decision(True, at, None)
    assert (
        next_allowed(at, zones=[NY], history=NO_HISTORY, invoice_status="open", opted_out=False)
        == at
    )


@pytest.mark.parametrize("consented", [False, True])
def test_opted_out_number_is_never_called(consented: bool) -> None:
    at = local(NY, 2025, 3, 12, 12, 0)
    assert check(at, opted_out=True, consented=consented) == Decision(False, None, "opted_out")


@pytest.mark.parametrize("status", ["paid", "void", "disputed"])
@pytest.mark.parametrize("consented", [False, True])
def test_settled_invoice_is_never_called(status: str, consented: bool) -> None:
    at = local(NY, 2025, 3, 12, 12, 0)
    assert check(at, status=status, consented=consented) == Decision(
        False, None, f"invoice_{status}"
    )


@pytest.mark.parametrize(
    ("at", "not_before"),
    [
        (local(NY, 2025, 3, 12, 7, 0), local(NY, 2025, 3, 12, 8, 0)),
        (local(NY, 2025, 3, 12, 21, 0), local(NY, 2025, 3, 13, 8, 0)),
        (local(NY, 2025, 3, 12, 23, 59), local(NY, 2025, 3, 13, 8, 0)),
    ],
)
def test_call_outside_window_waits_for_next_morning(at: datetime, not_before: datetime) -> None:
    assert check(at) == Decision(False, not_before, "outside_calling_window")


def _daily(zone: ZoneInfo, first: date, count: int, wall: time) -> tuple[datetime, ...]:
    return tuple(
        datetime.combine(first + timedelta(days=i), wall, tzinfo=zone).astimezone(UTC)
        for i in range(count)
    )


def test_eighth_attempt_in_seven_days_waits_for_oldest_to_age_out() -> None:
    attempts = _daily(NY, date(2025, 4, 1), 7, time(10, 0))
    at = local(NY, 2025, 4, 7, 10, 30)

    decision = check(at, history=CallHistory(attempts, None))

    assert decision == Decision(False, attempts[0] + FREQUENCY_PERIOD, "frequency_limit")
    assert (
        check(
            attempts[0] + FREQUENCY_PERIOD - MICROSECOND, history=CallHistory(attempts, None)
        ).hold_reason
        == "frequency_limit"
    )


def test_six_attempts_in_seven_days_allow_a_seventh() -> None:
    attempts = _daily(NY, date(2025, 4, 1), 6, time(10, 0))
    at = local(NY, 2025, 4, 7, 10, 30)
    assert check(at, history=CallHistory(attempts, None)).allowed


def test_frequency_release_at_night_waits_for_next_morning() -> None:
    # Seven consented callbacks at 22:00; the oldest ages out at 22:00 a week later, when
    # the window is shut, so the next call is the morning after.
    attempts = _daily(NY, date(2025, 4, 1), 7, time(22, 0))
    at = local(NY, 2025, 4, 7, 23, 0)

    decision = check(at, history=CallHistory(attempts, None))

    assert decision == Decision(False, local(NY, 2025, 4, 9, 8, 0), "frequency_limit")


def test_frequency_release_across_spring_forward_keeps_the_instant() -> None:
    # 10:00 EST plus seven days is 11:00 EDT: the rule counts elapsed time, not wall time.
    attempts = _daily(NY, date(2025, 3, 3), 7, time(10, 0))
    at = local(NY, 2025, 3, 9, 12, 0)
    decision = check(at, history=CallHistory(attempts, None))
    assert decision == Decision(False, local(NY, 2025, 3, 10, 11, 0), "frequency_limit")


def test_no_call_within_seven_days_after_a_conversation() -> None:
    end = local(NY, 2025, 5, 5, 14, 20)
    history = CallHistory((end - timedelta(minutes=5),), end)

    decision = check(local(NY, 2025, 5, 8, 12, 0), history=history)

    assert decision == Decision(False, end + QUIET_PERIOD, "conversation_quiet_period")
    assert check(end + QUIET_PERIOD, history=history).allowed


def test_quiet_period_ending_at_night_waits_for_next_morning() -> None:
    end = local(NY, 2025, 5, 5, 20, 50)
    history = CallHistory((end - timedelta(minutes=5),), end)
    decision = check(local(NY, 2025, 5, 12, 20, 0), history=history)
    # 20:50 + 7 days is inside the window: allowed from that very instant.
    assert decision == Decision(False, end + QUIET_PERIOD, "conversation_quiet_period")

    late = local(NY, 2025, 5, 5, 21, 30)
    decision = check(local(NY, 2025, 5, 12, 20, 0), history=CallHistory((), late))
    assert decision == Decision(False, local(NY, 2025, 5, 13, 8, 0), "conversation_quiet_period")


def test_consent_lifts_frequency_and_quiet_period_only() -> None:
    attempts = _daily(NY, date(2025, 4, 1), 7, time(10, 0))
    history = CallHistory(attempts, attempts[-1] + timedelta(minutes=3))
    morning = local(NY, 2025, 4, 8, 10, 0) - timedelta(hours=1)

    assert check(morning, history=history).hold_reason == "frequency_limit"
    assert check(morning, history=history, consented=True).allowed

    night = local(NY, 2025, 4, 7, 22, 0)
    assert check(night, history=history, consented=True) == Decision(
        False, local(NY, 2025, 4, 8, 8, 0), "outside_calling_window"
    )


def test_frequency_is_reported_before_quiet_period_before_window() -> None:
    attempts = _daily(NY, date(2025, 4, 1), 7, time(10, 0))
    night = local(NY, 2025, 4, 7, 23, 0)
    both = CallHistory(attempts, attempts[-1] + timedelta(minutes=3))
    assert check(night, history=both).hold_reason == "frequency_limit"
    quiet = CallHistory(attempts[-1:], attempts[-1] + timedelta(minutes=3))
    assert check(night, history=quiet).hold_reason == "conversation_quiet_period"
    assert check(night).hold_reason == "outside_calling_window"
    independence_night = local(NY, 2025, 7, 4, 23, 0)
    assert check(independence_night, holidays_in=["US"]).hold_reason == "public_holiday"


def test_public_holiday_waits_for_next_working_day() -> None:
    at = local(NY, 2025, 7, 4, 10, 0)

    assert check(at).allowed
    assert check(at, holidays_in=["US"]) == Decision(
        False, local(NY, 2025, 7, 5, 8, 0), "public_holiday"
    )


def test_public_holiday_is_judged_by_the_local_date() -> None:
    # 2025-07-05 03:30 UTC is still the 4th (23:30) in Los Angeles; 2025-07-04 02:00 UTC is
    # the 3rd (19:00) there.
    assert check(utc(2025, 7, 5, 3, 30), [LA], holidays_in=["US"]).hold_reason == "public_holiday"
    assert check(utc(2025, 7, 4, 2, 0), [LA], holidays_in=["US"]).allowed


def test_holiday_in_any_of_the_debtor_zones_blocks() -> None:
    # 2025-07-04 00:00 UTC: 17:00 on the 3rd in Los Angeles, 09:00 on the 4th in Tokyo.
    at = utc(2025, 7, 4, 0, 0)
    assert check(at, [LA, TOKYO]).allowed
    assert check(at, [LA, TOKYO], holidays_in=["US"]).hold_reason == "public_holiday"


def test_consecutive_holidays_are_all_skipped() -> None:
    # Christmas and Boxing Day in England: a call on the 25th waits until the 27th.
    decision = check(local(LONDON, 2025, 12, 25, 9, 0), [LONDON], holidays_in=["GB"])
    assert decision == Decision(False, local(LONDON, 2025, 12, 27, 8, 0), "public_holiday")


def test_holiday_observed_across_new_year_counts() -> None:
    # New Year's Day 2022 fell on a Saturday and was observed on Friday 2021-12-31.
    decision = check(local(NY, 2021, 12, 31, 10, 0), holidays_in=["US"])
    assert decision == Decision(False, local(NY, 2022, 1, 2, 8, 0), "public_holiday")


@pytest.mark.parametrize(
    "zones",
    [
        (LONDON, TOKYO, LA),  # no hour of the day is 08:00-21:00 in all three
        (),
    ],
)
def test_zones_with_no_common_window_are_never_called(zones: tuple[ZoneInfo, ...]) -> None:
    assert check(utc(2025, 6, 1, 12), zones) == Decision(False, None, "no_calling_window")


def test_far_blocked_search_still_finds_the_window() -> None:
    # The quiet period ends 7 days out; the window is looked for past it, not from `at`.
    end = utc(2025, 6, 1, 12)
    decision = check(end, [NY], CallHistory((end,), end))
    assert decision.not_before == end + QUIET_PERIOD


# -- DST and odd offsets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "at", "not_before"),
    [
        # New York spring forward, 2025-03-09 02:00 EST -> 03:00 EDT.
        ("America/New_York", utc(2025, 3, 9, 6, 0), utc(2025, 3, 9, 12, 0)),
        # New York fall back, 2025-11-02 02:00 EDT -> 01:00 EST.
        ("America/New_York", utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 13, 0)),
        # London spring forward, 2025-03-30 01:00 GMT -> 02:00 BST.
        ("Europe/London", utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 7, 0)),
        # Lord Howe: +10:30 until 2025-10-05 02:00, then +11 (a 30-minute DST).
        ("Australia/Lord_Howe", utc(2025, 10, 3, 12, 0), utc(2025, 10, 3, 21, 30)),
        ("Australia/Lord_Howe", utc(2025, 10, 4, 12, 0), utc(2025, 10, 4, 21, 0)),
        # Kolkata, +05:30 all year.
        ("Asia/Kolkata", utc(2025, 6, 1, 2, 0), utc(2025, 6, 1, 2, 30)),
        # St John's, -02:30 in summer, -03:30 in winter.
        ("America/St_Johns", utc(2025, 7, 1, 9, 0), utc(2025, 7, 1, 10, 30)),
        ("America/St_Johns", utc(2025, 1, 15, 9, 0), utc(2025, 1, 15, 11, 30)),
        # Chatham, +12:45 in the southern winter: 08:00 is 19:15 UTC the day before.
        ("Pacific/Chatham", utc(2025, 6, 1, 9, 0), utc(2025, 6, 1, 19, 15)),
        # Kiritimati, +14: its 08:00 on the 2nd is 18:00 UTC on the 1st.
        ("Pacific/Kiritimati", utc(2025, 6, 1, 7, 0), utc(2025, 6, 1, 18, 0)),
    ],
)
def test_next_morning_is_exact_across_dst_and_odd_offsets(
    zone: str, at: datetime, not_before: datetime
) -> None:
    decision = check(at, [ZoneInfo(zone)])
    assert decision == Decision(False, not_before, "outside_calling_window")
    assert not check(not_before - MICROSECOND, [ZoneInfo(zone)]).allowed


def _posix_zone(rule: str) -> ZoneInfo:
    """A zone with no history, only a POSIX TZ rule (TZif version 2, footer only)."""
    header = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, 1, 4)
    body = struct.pack(">lbB", 0, 0, 0) + b"XST\0"
    return ZoneInfo.from_file(io.BytesIO(header + body + header + body + f"\n{rule}\n".encode()))


# DST starts at 07:30 (clocks jump to 08:30: 08:00 never happens) and ends at 21:30 (clocks
# go back to 20:30: the window reopens for half an hour).
ODD = _posix_zone("XST-5XDT,M3.2.0/7:30,M11.1.0/21:30")


def test_window_opens_at_the_transition_when_eight_oclock_is_skipped() -> None:
    at = utc(2025, 3, 9, 2, 0)  # 07:00 XST
    jump = utc(2025, 3, 9, 2, 30)  # 07:30 XST becomes 08:30 XDT

    decision = check(at, [ODD])

    assert decision == Decision(False, jump, "outside_calling_window")
    assert jump.astimezone(ODD).time() == time(8, 30)
    assert not in_window(jump - MICROSECOND, [ODD])


def test_window_reopens_when_clocks_go_back_into_it() -> None:
    at = utc(2025, 11, 2, 15, 20)  # 21:20 XDT: closed
    back = utc(2025, 11, 2, 15, 30)  # 21:30 XDT becomes 20:30 XST: open till 21:00

    assert check(at, [ODD]) == Decision(False, back, "outside_calling_window")
    assert check(back + timedelta(minutes=29), [ODD]).allowed
    assert not check(back + timedelta(minutes=30), [ODD]).allowed


# DST ends at 08:30 (clocks go back to 07:30): 08:00 happens twice, and the window, shut
# at the jump, reopens at the second 08:00.
TWICE = _posix_zone("XST-5XDT,M3.2.0/7:30,M11.1.0/8:30")


def test_window_reopens_at_the_second_eight_oclock_of_a_repeated_hour() -> None:
    first = utc(2025, 11, 2, 2, 0)  # 08:00 XDT
    back = utc(2025, 11, 2, 2, 30)  # 08:30 XDT becomes 07:30 XST
    second = utc(2025, 11, 2, 3, 0)  # 08:00 XST

    assert check(first, [TWICE]).allowed
    assert check(back - MICROSECOND, [TWICE]).allowed
    assert check(back, [TWICE]) == Decision(False, second, "outside_calling_window")


# -- properties --------------------------------------------------------------------------

ZONE_NAMES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Asia/Tokyo",
)
COUNTRIES = ("US", "GB", "DE", "JP", "IN", "AU", "NZ", "CA")
SETTLED = ("paid", "void", "disputed")
FIRST = datetime(2020, 1, 1)
# Searches reach weeks ahead; the holidays library has lunar calendars only up to 2035.
LAST = datetime(2035, 11, 30)


def _offset_changes(zone: ZoneInfo) -> list[datetime]:
    """Offset transitions 2020-2035, found by a daily scan and bisection (test-side)."""
    found = []
    day = datetime(2020, 1, 1, tzinfo=UTC)
    offset = day.astimezone(zone).utcoffset()
    while day.year < 2036:
        following = day + timedelta(days=1)
        if following.astimezone(zone).utcoffset() != offset:
            lo, hi = day, following
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == offset:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            offset = following.astimezone(zone).utcoffset()
        day = following
    return found


TRANSITIONS = sorted(t for name in ZONE_NAMES for t in _offset_changes(ZoneInfo(name)))


@cache
def _is_holiday(country: str, day: date) -> bool:
    return day in holidays.country_holidays(country, years=day.year)


@dataclass(frozen=True)
class Case:
    at: datetime
    zones: tuple[ZoneInfo, ...]
    history: CallHistory
    countries: tuple[str, ...]
    consented: bool

    def decide(self, at: datetime, history: CallHistory | None = None) -> Decision:
        return check(
            at,
            self.zones,
            self.history if history is None else history,
            holidays_in=self.countries,
            consented=self.consented,
        )

    def breaches(self, at: datetime, history: CallHistory | None = None) -> list[str]:
        """The rules broken by a call at ``at``, in reporting order (the naive oracle)."""
        history = self.history if history is None else history
        broken = []
        if not self.consented:
            recent = [a for a in history.attempts if at - FREQUENCY_PERIOD < a <= at]
            if len(recent) >= FREQUENCY_LIMIT:
                broken.append("frequency_limit")
            end = history.last_conversation_end
            if end is not None and at < end + QUIET_PERIOD:
                broken.append("conversation_quiet_period")
        for zone in self.zones:
            day = at.astimezone(zone).date()
            if any(_is_holiday(c, day) for c in self.countries):
                broken.append("public_holiday")
                break
        for zone in self.zones:
            if not time(8) <= at.astimezone(zone).time() < time(21):
                broken.append("outside_calling_window")
                break
        return broken


def _near(anchor: datetime, spread: timedelta) -> st.SearchStrategy[datetime]:
    seconds = int(spread.total_seconds())
    return st.integers(-seconds, seconds).map(lambda s: anchor + timedelta(seconds=s))


@st.composite
def edge_of_window(draw: st.DrawFn) -> datetime:
    zone = ZoneInfo(draw(st.sampled_from(ZONE_NAMES)))
    day = draw(st.dates(min_value=FIRST.date(), max_value=LAST.date()))
    wall = datetime.combine(day, draw(st.sampled_from([time(8), time(21)])), tzinfo=zone)
    return draw(_near(wall.astimezone(UTC), timedelta(minutes=2)))


instants = st.one_of(
    st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC)),
    st.sampled_from(TRANSITIONS).flatmap(lambda t: _near(t, timedelta(days=2))),
    edge_of_window(),
)
zone_sets = st.lists(st.sampled_from(ZONE_NAMES), min_size=1, max_size=3, unique=True).map(
    lambda names: tuple(ZoneInfo(n) for n in names)
)


@cache
def _holidays_of(country: str, year: int) -> list[date]:
    return sorted(holidays.country_holidays(country, years=year))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    countries = tuple(draw(st.lists(st.sampled_from(COUNTRIES), max_size=2, unique=True)))
    if countries and draw(st.booleans()):
        # Around one of the calendar's holidays, so that the holiday rule gets exercised.
        year = draw(st.integers(FIRST.year, LAST.year - 1))
        day = draw(st.sampled_from(_holidays_of(countries[0], year)))
        noon = datetime.combine(day, time(12), tzinfo=UTC)
        at = draw(_near(noon, timedelta(hours=36)))
    else:
        at = draw(instants)
    ago = st.integers(0, 9 * 24 * 3600).map(lambda s: at - timedelta(seconds=s))
    attempts = tuple(draw(st.lists(ago, max_size=12)))
    end = draw(st.none() | ago)
    return Case(
        at=at,
        zones=draw(zone_sets),
        history=CallHistory(attempts, end),
        countries=countries,
        consented=draw(st.booleans()),
    )


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(case=cases())
def test_property_allowed_exactly_when_no_rule_is_breached(case: Case) -> None:
    decision = case.decide(case.at)
    broken = case.breaches(case.at)

    assert decision.allowed is (not broken)
    if decision.allowed:
        assert decision == Decision(True, case.at, None)
        assert all(in_window(case.at, [z]) for z in case.zones)
    elif decision.not_before is not None:
        assert decision.hold_reason == broken[0]
    else:
        assert decision.hold_reason == "no_calling_window"


@PROPERTY
@given(case=cases(), fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=3, max_size=6))
def test_property_not_before_is_the_earliest_allowed_instant(
    case: Case, fractions: list[float]
) -> None:
    decision = case.decide(case.at)
    if decision.allowed:
        return
    not_before = decision.not_before
    if not_before is None:
        # Nothing in the searched span: spot-check that nothing there is allowed.
        end = case.at + SEARCH_HORIZON
        grid: list[datetime] = []
    else:
        assert not_before >= case.at
        assert not case.breaches(not_before)
        assert case.decide(not_before) == Decision(True, not_before, None)
        end = not_before
        # Every UTC quarter hour in between (all the listed zones open on one) and the
        # instant just before.
        grid = [not_before - MICROSECOND]
        quarter = case.at.replace(minute=case.at.minute // 15 * 15, second=0, microsecond=0)
        while quarter < not_before:
            grid.append(quarter)
            quarter += timedelta(minutes=15)
    samples = [case.at + (end - case.at) * f for f in fractions]
    for point in grid + samples:
        if case.at <= point < end:
            assert case.breaches(point), f"{point} is allowed, before {not_before}"
    for point in samples:
        if case.at <= point < end:
            assert not case.decide(point).allowed


@PROPERTY
@given(case=cases(), status=st.sampled_from(SETTLED))
def test_property_opted_out_or_settled_is_never_called(case: Case, status: str) -> None:
    for at in (case.at, case.at + timedelta(hours=5), case.at + timedelta(days=8)):
        common = {"holidays_in": case.countries, "consented": case.consented}
        opted_out = check(at, case.zones, case.history, opted_out=True, **common)
        settled = check(at, case.zones, case.history, status=status, **common)
        assert opted_out == Decision(False, None, "opted_out")
        assert settled == Decision(False, None, f"invoice_{status}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=cases(),
    steps=st.lists(
        st.tuples(
            st.integers(0, 6 * 3600),  # wait after a call before dialling again
            # Mostly unanswered, so that the frequency limit is reached; else the length
            # of the conversation in seconds.
            st.integers(0, 9).flatmap(lambda k: st.none() if k < 8 else st.integers(1, 1800)),
        ),
        min_size=8,
        max_size=25,
    ),
)
def test_property_schedule_of_earliest_dials_breaches_nothing(
    case: Case, steps: list[tuple[int, int | None]]
) -> None:
    case = replace(case, consented=False, history=CallHistory((), None))
    attempts: list[datetime] = []
    conversations: list[tuple[int, datetime]] = []  # (index of its attempt, its end)
    at = case.at
    for wait, answered in steps:
        history = CallHistory(tuple(attempts), conversations[-1][1] if conversations else None)
        decision = case.decide(at, history)
        if not decision.allowed:
            if decision.not_before is None:
                break
            at = decision.not_before
            decision = case.decide(at, history)
            assert decision.allowed
        assert not case.breaches(at, history)
        attempts.append(at)
        if answered is not None:
            conversations.append((len(attempts) - 1, at + timedelta(seconds=answered)))
        at += timedelta(seconds=wait)

    for index, call in enumerate(attempts):
        assert all(time(8) <= call.astimezone(z).time() < time(21) for z in case.zones)
        in_period = [a for a in attempts if call <= a < call + FREQUENCY_PERIOD]
        assert len(in_period) <= FREQUENCY_LIMIT
        for source, end in conversations:
            assert index <= source or call >= end + QUIET_PERIOD
