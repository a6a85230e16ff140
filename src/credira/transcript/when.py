"""Days and times in what a debtor said: "on Friday", "the 1st of next month", "call me
tomorrow at 3", resolved against the day the call ended in the debtor's zone.

Pure: no I/O and no wall clock. The text read is the debtor's turns as
`credira.transcript.analysis` normalizes them (lowercase, straight apostrophes, "p.m." as "pm",
decimal points kept apart from sentence ends); positions are offsets into that text. The module
knows nothing of cue kinds: the caller says which spans are promises and which are callback
requests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A regular expression (a non-capturing group) matching one weekday name, for other patterns.
WEEKDAY = "(?:" + "|".join(_WEEKDAYS) + ")"
_ENDS = re.compile(r"[.!?]")


class Anchor(Protocol):
    """Where a piece of evidence sits: its turn, and its span in that turn's normalized text."""

    @property
    def turn(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


# -- dates ------------------------------------------------------------------------------------


class FoundDate(NamedTuple):
    """A day expression found in a text: its span and the day it means."""

    start: int
    end: int
    day: date
    now: bool  # "now", "right away": a day for a payment, not for a call


_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "fifteen": 15, "twenty": 20, "thirty": 30, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip
_NUMBER = r"(\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "tenth": 10,
    "fifteenth": 15, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip

_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\.?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?"
)
_DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b(?:,?\s+(\d{{4}}))?"
)
_ORDINAL = re.compile(
    r"\b(?:the\s+|(?<=on |by )|(?<=before )|(?<=until )|(?<=till ))(\d{1,2})(?:st|nd|rd|th)\b"
    r"(?:\s+of\s+(this|next)\s+month)?"
)
_ORDINAL_WORD = re.compile(
    r"\b(?:(?:on|by|before|until|till|after) the ("
    + "|".join(_ORDINAL_WORDS)
    + r")\b(?:\s+of\s+(this|next|the)\s+month)?|the ("
    + "|".join(_ORDINAL_WORDS)
    + r") of (this|next|the) month)"
)
_IN_N = re.compile(
    rf"\b(?:in|within|after)\s+(?:the\s+next\s+|about\s+)?{_NUMBER}\s+(day|week|month)s?\b"
)
_N_FROM_NOW = re.compile(rf"\b{_NUMBER}\s+(day|week|month)s?\s+from\s+(?:now|today)\b")
_SIMPLE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bin a fortnight\b"), "fortnight"),
    (re.compile(r"\b(?:the )?day after tomorrow\b"), "after_tomorrow"),
    (re.compile(r"\btomorrow\b"), "tomorrow"),
    (re.compile(r"\bend of (?:the |this )?month\b"), "month_end"),
    (re.compile(r"\bend of next month\b"), "next_month_end"),
    (re.compile(r"\bend of (?:the |this )?week\b"), "week_end"),
    (re.compile(r"\bnext week\b"), "next_week"),
    (re.compile(r"\bnext month\b"), "next_month"),
    (re.compile(rf"\b(?:next |this (?:coming )?|coming |on |by )?({WEEKDAY})\b"), "weekday"),
    (
        re.compile(r"\b(?:later )?today\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b"),
        "today",
    ),
    (re.compile(r"\b(?:right now|right away|straight away|immediately|now)\b"), "now"),
)


def find_dates(text: str, today: date) -> list[FoundDate]:
    """Day expressions in ``text`` resolved against ``today``; earlier patterns win overlaps."""
    found: list[FoundDate] = []

    def add(m: re.Match[str], day: date | None, now: bool = False) -> None:
        if day is not None and not any(f.start < m.end() and m.start() < f.end for f in found):
            found.append(FoundDate(m.start(), m.end(), day, now))

    for m in _ISO.finditer(text):
        add(m, _safe_date(int(m[1]), int(m[2]), int(m[3])))
    for m in _MONTH_DAY.finditer(text):
        add(m, _month_day(today, _MONTHS.index(m[1][:3]) + 1, int(m[2]), m[3]))
    for m in _DAY_MONTH.finditer(text):
        add(m, _month_day(today, _MONTHS.index(m[2][:3]) + 1, int(m[1]), m[3]))
    for m in _ORDINAL.finditer(text):
        add(m, _day_of_month(today, int(m[1]), m[2] == "next"))
    for m in _ORDINAL_WORD.finditer(text):
        word, month = (m[1], m[2]) if m[1] else (m[3], m[4])
        add(m, _day_of_month(today, _ORDINAL_WORDS[word], month == "next"))
    for m in (*_IN_N.finditer(text), *_N_FROM_NOW.finditer(text)):
        add(m, _plus(today, _NUMBER_WORDS.get(m[1]) or int(m[1]), m[2]))
    for pattern, kind in _SIMPLE:
        for m in pattern.finditer(text):
            add(m, _simple_day(today, kind, m), kind == "now")
    return sorted(found)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(today: date, month: int, day: int, year: str | None) -> date | None:
    if year:
        return _safe_date(int(year), month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is not None and candidate < today:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _day_of_month(today: date, day: int, next_month: bool) -> date | None:
    """The next ``day``-th on or after today (skipping months too short), or in next month."""
    year, month = today.year, today.month
    for step in range(13):
        if step or next_month:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        if next_month:
            return None
    return None


def _plus(today: date, count: int, unit: str) -> date | None:
    try:
        if unit == "month":
            return _add_months(today, count)
        return today + timedelta(days=count * (7 if unit == "week" else 1))
    except (OverflowError, ValueError):
        return None


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    while (result := _safe_date(year, month, day.day)) is None:
        day = day.replace(day=day.day - 1)
    return result


def _simple_day(today: date, kind: str, m: re.Match[str]) -> date:
    if kind == "weekday":
        return today + timedelta(days=(_WEEKDAYS.index(m[1]) - today.weekday() - 1) % 7 + 1)
    if kind == "month_end":
        return _add_months(today.replace(day=1), 1) - timedelta(days=1)
    if kind == "next_month_end":
        return _add_months(today.replace(day=1), 2) - timedelta(days=1)
    if kind == "week_end":
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if kind == "next_month":
        return _add_months(today, 1)
    offsets = {"fortnight": 14, "after_tomorrow": 2, "tomorrow": 1, "next_week": 7}
    return today + timedelta(days=offsets.get(kind, 0))


def promised_date(promises: Sequence[Anchor], texts: Sequence[str], today: date) -> date | None:
    """The date of the last promise that has one (``promises`` in the order said, ``texts`` the
    normalized turns). In the promise's sentence: the latest date after it ("half now and the
    rest on the 30th"), else the last before it ("on Friday I'll pay"); else the nearest in its
    turn; else the first in the debtor's next turn ("when?")."""
    promised = None
    for cue in promises:
        text = texts[cue.turn]
        dates = find_dates(text, today)
        begin = max((m.end() for m in _ENDS.finditer(text, 0, cue.start)), default=0)
        stop = m.start() if (m := _ENDS.search(text, cue.end)) else len(text)
        after = [d for d in dates if cue.start <= d.start < stop]
        before = [d for d in dates if begin <= d.start < cue.start]
        following = next((t for t in texts[cue.turn + 1 :] if t), "")
        if after:
            promised = max(d.day for d in after)
        elif before:
            promised = before[-1].day
        elif nearest := _nearest(dates, cue.start) or _nearest(find_dates(following, today), 0):
            promised = nearest.day
    return promised


# -- times ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class When:
    """When a debtor asked to be called, as said: any of a day, a clock time, a part of the day
    ("in the morning") and a delay ("in an hour"); all None when no time was given."""

    day: date | None = None
    clock: tuple[int, int, str | None] | None = None  # hour, minute, "am" / "pm" / None
    part: str | None = None  # morning, afternoon, evening ...
    delta: timedelta | None = None

    @property
    def explicit(self) -> bool:
        """Whether the debtor said anything about when."""
        return any(v is not None for v in (self.day, self.clock, self.part, self.delta))


_HOUR_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MINUTE_WORDS = {"fifteen": 15, "thirty": 30, "forty five": 45, "forty-five": 45}
_NOT_A_TIME = r"(?!\s*(?:days?|weeks?|months?|years?|%|percent|dollars?|usd|euros?|pounds?)\b)"
_CLOCKS = (
    re.compile(
        r"\b(?:at|around|after|by|about|from|until)\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b"
        + _NOT_A_TIME
    ),
    re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b"),
    re.compile(r"\b(\d{1,2}):(\d{2})()\b"),
    re.compile(r"\b(\d{1,2})()\s*o'clock()\b"),
)
_CLOCK_WORDS = re.compile(
    r"\b(?:at|around|after|about)\s+(" + "|".join(_HOUR_WORDS) + r")"
    r"(?:\s+(" + "|".join(_MINUTE_WORDS) + r"))?(?:\s*(am|pm|o'clock))?\b"
)
_HALF_PAST = re.compile(r"\bhalf past (\d{1,2})\b")
_NOON = re.compile(r"\b(?:noon|midday)\b")
_PARTS = {
    "morning": 10,
    "lunchtime": 12,
    "lunch time": 12,
    "afternoon": 14,
    "evening": 18,
    "tonight": 18,
}
_PART = re.compile(r"\b(morning|lunch ?time|afternoon|evening|tonight)\b")
_IN_HOURS = re.compile(rf"\bin\s+(?:about\s+)?(half an|{_NUMBER[1:-1]})\s+(hour|minute|min)s?\b")


class _TimeFound(NamedTuple):
    start: int
    clock: tuple[int, int, str | None] | None
    part: str | None
    delta: timedelta | None


def _find_times(text: str) -> list[_TimeFound]:
    found: list[_TimeFound] = []
    spans: list[tuple[int, int]] = []

    def add(m: re.Match[str], clock: tuple[int, int, str | None] | None = None,
            part: str | None = None, delta: timedelta | None = None) -> None:  # fmt: skip
        if not any(s < m.end() and m.start() < e for s, e in spans):
            spans.append((m.start(), m.end()))
            found.append(_TimeFound(m.start(), clock, part, delta))

    for m in _IN_HOURS.finditer(text):
        count = 0.5 if m[1] == "half an" else (_NUMBER_WORDS.get(m[1]) or int(m[1]))
        add(m, delta=timedelta(hours=count) if m[2] == "hour" else timedelta(minutes=count))
    for pattern in _CLOCKS:
        for m in pattern.finditer(text):
            hour, minute = int(m[1]), int(m[2] or 0)
            if hour <= 23 and minute <= 59:
                add(m, clock=(hour, minute, m[3] or None))
    for m in _CLOCK_WORDS.finditer(text):
        meridiem = m[3] if m[3] in ("am", "pm") else None
        add(m, clock=(_HOUR_WORDS[m[1]], _MINUTE_WORDS.get(m[2] or "", 0), meridiem))
    for m in _HALF_PAST.finditer(text):
        if int(m[1]) <= 12:
            add(m, clock=(int(m[1]), 30, None))
    for m in _NOON.finditer(text):
        add(m, clock=(12, 0, "pm"))
    for m in _PART.finditer(text):
        add(m, part=m[1].replace(" ", ""))
    return sorted(found)


def callback_request(requests: Sequence[Anchor], texts: Sequence[str], today: date) -> When | None:
    """When the debtor asked to be called: the day and time nearest the strongest request that
    has one (``requests`` strongest first, ``texts`` the normalized turns). An empty `When` if
    no request says when; None without any request."""
    for cue in requests:
        text = texts[cue.turn]
        when = _when_near(text, cue.start, today)
        if not when.explicit:
            following = next((t for t in texts[cue.turn + 1 :] if t), "")
            when = _when_near(following, 0, today)
        if when.explicit:
            return when
    return When() if requests else None


def _when_near(text: str, at: int, today: date) -> When:
    dates = [d for d in find_dates(text, today) if not d.now]
    times = _find_times(text)

    day = _nearest(dates, at)
    clocks = _nearest([t for t in times if t.clock or t.delta], at)
    part = _nearest([t for t in times if t.part], at)
    return When(
        day=day.day if day else None,
        clock=clocks.clock if clocks else None,
        part=part.part if part else None,
        delta=clocks.delta if clocks else None,
    )


_Spot = TypeVar("_Spot", FoundDate, _TimeFound)


def _nearest(items: list[_Spot], at: int) -> _Spot | None:
    """The first item after ``at``, else the last one before it."""
    after = [i for i in items if i.start >= at]
    before = [i for i in items if i.start < at]
    return after[0] if after else (before[-1] if before else None)


def callback_instant(when: When, ended_at: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant asked for, ``when`` read in ``zone`` from the call's end ``ended_at``
    (aware). Only a day: 10:00 that day; nothing: tomorrow 10:00."""
    if when.delta is not None:
        return ended_at + when.delta
    local_now = ended_at.astimezone(zone)
    today = local_now.date()
    if when.day is not None and when.day < today:
        # A day already gone ("call me on the 2nd" said on the 15th) is no instruction.
        when = replace(when, day=None)
    hour, minute, meridiem = when.clock or (_PARTS.get(when.part or "", 10), 0, None)
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif meridiem is None and when.clock is not None:
        # "at 3" on a phone call means the afternoon; so does "this evening at 8".
        late = when.part in ("afternoon", "evening", "tonight")
        if (1 <= hour <= 7 and when.part != "morning") or (hour < 12 and late):
            hour += 12
    day = (when.day or today) if when.explicit else today + timedelta(days=1)
    at = datetime.combine(day, time(hour, minute), tzinfo=zone)
    if at <= local_now:
        if when.day is not None and when.clock is None and when.part is None:
            # "later today" with 10:00 gone: in an hour or two, on the hour.
            at = (local_now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        else:
            # A time already gone today means that time tomorrow.
            at = datetime.combine(day + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return at.astimezone(UTC)
