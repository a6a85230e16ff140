"""The calling rules are checked when the worker is about to dial, not only when scheduling.

Rows are written straight into the database; the executor runs at a frozen instant, which is
what the rules see and what a placed call records as its ``placed_time``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from credira.call import rules
from credira.callout.service import to_read
from credira.kit.clock import FrozenClock
from credira.models import Callout, Invoice
from tests.worker.harness import Db, Debt, new_debt, open_db, run_due

AT = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # a Tuesday; 15:00 in London
HOME = "Europe/London"


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


async def due_callout(db: Db, debt: Debt, **options: Any) -> Callout:
    callout = debt.callout(run_at=AT - timedelta(minutes=10), **options)
    await db.add(callout)
    return callout


async def assert_held(db: Db, callout_id: str, reason: str, until: datetime) -> None:
    """What the client sees: still scheduled, why it waits and until when; nothing dialled."""
    callout = await db.get(Callout, callout_id)
    shown = to_read(callout)
    assert shown["status"] == "scheduled"
    assert shown["hold_reason"] == reason
    assert shown["next_attempt_time"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert callout.attempt_count == 0
    assert await db.calls(callout_id=callout_id) == []
    assert await db.placed_count() == 0


async def assert_called_once(db: Db, callout_id: str) -> None:
    callout = await db.get(Callout, callout_id)
    assert callout.status == "completed", (callout.status, callout.status_reason)
    [call] = await db.calls(callout_id=callout_id)
    assert call.placed_time == AT
    assert call.status == "completed"


async def assert_called(db: Db, callout_id: str) -> None:
    await assert_called_once(db, callout_id)
    assert await db.placed_count() == 1


# -- the calling window --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("night_zone", "opens"),
    [
        ("Asia/Tokyo", "2024-03-05T23:00:00Z"),  # 00:00 local
        ("America/Los_Angeles", "2024-03-05T16:00:00Z"),  # 07:00 local
        ("Australia/Adelaide", "2024-03-05T21:30:00Z"),  # 01:30 local, UTC+10:30 in March
        ("Pacific/Auckland", "2024-03-05T19:00:00Z"),  # 04:00 local
    ],
)
async def test_zone_changed_to_night_after_scheduling_holds_until_eight_local(
    db: Db, night_zone: str, opens: str
) -> None:
    debt = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    callout = await due_callout(db, debt)
    await db.edit(Invoice, debt.invoice_id, customer_timezone=night_zone)

    assert await run_due(db, FrozenClock(AT)) == [callout.id]

    until = datetime.fromisoformat(opens)
    assert until.astimezone(ZoneInfo(night_zone)).time() == time(8, 0)
    await assert_held(db, callout.id, "outside_calling_window", until)


async def test_zone_still_in_calling_hours_is_called(db: Db) -> None:
    debt = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    callout = await due_callout(db, debt)
    await db.edit(Invoice, debt.invoice_id, customer_timezone="Asia/Dubai")  # 19:00 local

    await run_due(db, FrozenClock(AT))

    await assert_called(db, callout.id)


# -- at most 7 attempts per invoice in 7 days ----------------------------------------------

OLDEST = AT - timedelta(days=6, hours=2)  # leaves the period at 13:00 London tomorrow
RECENT = [AT - timedelta(days=d, hours=1) for d in range(5, -1, -1)]  # six more, the last 1h ago


@pytest.mark.parametrize(
    ("placed", "consented", "held_until"),
    [
        pytest.param([OLDEST, *RECENT], False, OLDEST + timedelta(days=7), id="seven-in-7-days"),
        pytest.param(RECENT, False, None, id="six-in-7-days"),
        pytest.param(
            [AT - timedelta(days=7), *RECENT], False, None, id="seventh-exactly-7-days-ago"
        ),
        pytest.param([OLDEST, *RECENT], True, None, id="seven-but-a-requested-callback"),
    ],
)
async def test_seven_attempts_in_seven_days_hold_the_next_until_the_oldest_leaves(
    db: Db, placed: list[datetime], consented: bool, held_until: datetime | None
) -> None:
    debt = await new_debt(db, zone=HOME, made=AT - timedelta(days=10))
    earlier = debt.callout(run_at=AT - timedelta(days=8), status="failed")
    await db.add(earlier)
    await db.add(*(debt.call(earlier.id, n, t) for n, t in enumerate(placed, start=1)))
    callout = await due_callout(db, debt, consented=consented)

    await run_due(db, FrozenClock(AT))

    if held_until is None:
        await assert_called(db, callout.id)
    else:
        await assert_held(db, callout.id, "frequency_limit", held_until)


async def test_callouts_decided_together_see_each_others_calls(db: Db) -> None:
    """Concurrent callouts are decided in shared transactions: two about one debt must still
    be decided one after the other, and each callout by its own facts."""
    busy = await new_debt(db, zone=HOME, made=AT - timedelta(days=10))
    earlier = busy.callout(run_at=AT - timedelta(days=8), status="failed")
    await db.add(earlier)
    await db.add(*(busy.call(earlier.id, n, t) for n, t in enumerate(RECENT, start=1)))
    twins = [await due_callout(db, busy), await due_callout(db, busy)]
    opted = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    await db.add(opted.suppression())
    opted_callout = await due_callout(db, opted)
    free = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    free_callout = await due_callout(db, free)

    await run_due(db, FrozenClock(AT), together=True)

    # Six calls in seven days: one of the two may dial, the seventh; the other waits for the
    # oldest to leave the seven days.
    shown = sorted([to_read(await db.get(Callout, c.id)) for c in twins], key=lambda r: r["status"])
    assert [r["status"] for r in shown] == ["completed", "scheduled"]
    assert shown[1]["hold_reason"] == "frequency_limit"
    until = RECENT[0] + timedelta(days=7)
    assert shown[1]["next_attempt_time"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [c.placed_time for c in await db.calls(callout_id=shown[0]["id"])] == [AT]
    refused = await db.get(Callout, opted_callout.id)
    assert (refused.status, refused.status_reason) == ("failed", "opted_out")
    await assert_called_once(db, free_callout.id)
    assert await db.placed_count() == 2


# -- the quiet period after a conversation -------------------------------------------------

TALKED_UNTIL = AT - timedelta(days=2)


@pytest.mark.parametrize(
    ("outcome", "consented", "held"),
    [
        pytest.param("acknowledged", False, True, id="conversation-holds"),
        pytest.param("promise_to_pay", False, True, id="promise-conversation-holds"),
        pytest.param("acknowledged", True, False, id="requested-callback-is-not-held"),
        pytest.param("wrong_party", False, False, id="wrong-party-was-no-conversation"),
    ],
)
async def test_a_conversation_holds_calls_for_seven_days_except_a_requested_callback(
    db: Db, outcome: str, consented: bool, held: bool
) -> None:
    debt = await new_debt(db, zone=HOME, made=AT - timedelta(days=10))
    earlier = debt.callout(run_at=TALKED_UNTIL - timedelta(minutes=5), status="completed")
    await db.add(earlier)
    await db.add(
        debt.call(
            earlier.id,
            1,
            TALKED_UNTIL - timedelta(minutes=3),
            status="completed",
            answered=True,
            outcome=outcome,
            end=TALKED_UNTIL,
        )
    )
    callout = await due_callout(db, debt, consented=consented)

    await run_due(db, FrozenClock(AT))

    if held:
        until = TALKED_UNTIL + timedelta(days=7)
        await assert_held(db, callout.id, "conversation_quiet_period", until)
    else:
        await assert_called(db, callout.id)


# -- opted-out numbers ---------------------------------------------------------------------


async def test_an_opted_out_number_ends_the_callout_failed_without_a_call(db: Db) -> None:
    debt = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    await db.add(debt.suppression())
    callout = await due_callout(db, debt)

    await run_due(db, FrozenClock(AT))

    finished = await db.get(Callout, callout.id)
    assert finished.status == "failed"
    assert finished.status_reason == "opted_out"
    assert finished.lease_owner is None
    assert await db.calls(invoice_id=debt.invoice_id) == []
    assert await db.placed_count() == 0


async def test_an_opt_out_in_another_account_does_not_stop_the_call(db: Db) -> None:
    other = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    await db.add(other.suppression())
    debt = await new_debt(db, zone=HOME, made=AT - timedelta(hours=1))
    callout = await due_callout(db, debt)

    await run_due(db, FrozenClock(AT))

    await assert_called(db, callout.id)


# -- property: a call is placed exactly when the rules allow it ----------------------------

DST_ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Asia/Kolkata",  # +05:30, no DST
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Chatham",  # +12:45 / +13:45
)
FIRST = datetime(2024, 1, 1, tzinfo=UTC)
LAST = datetime(2030, 12, 31, tzinfo=UTC)


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Every UTC-offset change of a zone in 2024-2030, to the minute."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    day = FIRST
    while day < LAST:
        nxt = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = day, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(second=0, microsecond=0))
        day = nxt
    return tuple(found)


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Anywhere in 2024-2030, or within a day and a half of one of the zone's DST changes."""
    changes = transitions(zone)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        around = draw(st.sampled_from(changes))
        return around + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
    minutes = int((LAST - FIRST).total_seconds() // 60)
    return FIRST + timedelta(minutes=draw(st.integers(0, minutes)))


@st.composite
def situations(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(st.sampled_from(DST_ZONES))
    at = draw(instants(zone))
    # Earlier attempts on the invoice, minutes before ``at`` (some beyond the 7 days).
    count = draw(st.integers(0, 9))
    ago = draw(st.lists(st.integers(5, 9 * 24 * 60), min_size=count, max_size=count, unique=True))
    return {
        "zone": zone,
        "at": at,
        "attempts": sorted(at - timedelta(minutes=m) for m in ago),
        "last_was_conversation": bool(ago) and draw(st.booleans()),
        "consented": draw(st.booleans()),
        "opted_out": draw(st.integers(0, 9)) == 5,
    }


async def setup_situation(db: Db, case: dict[str, Any]) -> tuple[Debt, Callout, rules.Decision]:
    at: datetime = case["at"]
    await db.retire_pending()  # what earlier examples left waiting is not this one's business
    debt = await new_debt(db, zone=case["zone"], made=at - timedelta(days=10))
    attempts: list[datetime] = case["attempts"]
    conversation_end = None
    if attempts:
        earlier = debt.callout(run_at=attempts[0], status="completed")
        await db.add(earlier)
        rows = [debt.call(earlier.id, n, t) for n, t in enumerate(attempts, start=1)]
        if case["last_was_conversation"]:
            conversation_end = attempts[-1] + timedelta(minutes=3)
            last = rows[-1]
            last.status, last.answered, last.outcome = "completed", True, "acknowledged"
            last.end_time = conversation_end
        await db.add(*rows)
    if case["opted_out"]:
        await db.add(debt.suppression())
    callout = debt.callout(run_at=at, consented=case["consented"])
    await db.add(callout)
    expected = rules.check_call(
        at,
        zones=(ZoneInfo(case["zone"]),),
        history=rules.CallHistory(attempts=attempts, last_conversation_end=conversation_end),
        invoice_status="open",
        opted_out=case["opted_out"],
        consented=case["consented"],
    )
    return debt, callout, expected


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=situations())
async def test_property_a_call_is_placed_iff_the_rules_allow_it_at_that_instant(
    db: Db, case: dict[str, Any]
) -> None:
    _, callout, expected = await setup_situation(db, case)
    event(f"decision: {expected.hold_reason or 'call placed'}")
    at: datetime = case["at"]
    before = await db.placed_count()

    await run_due(db, FrozenClock(at))

    after = await db.get(Callout, callout.id)
    placed = [c for c in await db.calls(callout_id=callout.id) if c.placed_time is not None]
    if expected.allowed:
        [call] = placed
        assert call.placed_time == at
        assert await db.placed_count() == before + 1
        assert after.status == "completed"
    else:
        assert placed == []
        assert await db.placed_count() == before
        if expected.not_before is None:
            assert (after.status, after.status_reason) == ("failed", expected.hold_reason)
        else:
            assert (after.status, after.hold_reason) == ("scheduled", expected.hold_reason)
            assert after.run_at == expected.not_before

    # The law itself, independently of the rules module: local hours, 7-in-7, quiet period.
    for call in placed:
        assert call.placed_time is not None
        local = call.placed_time.astimezone(ZoneInfo(case["zone"]))
        assert time(8, 0) <= local.time() < time(21, 0), local
        assert not case["opted_out"]
        if not case["consented"]:
            week = [t for t in case["attempts"] if t > call.placed_time - timedelta(days=7)]
            assert len(week) < 7
            if case["last_was_conversation"]:
                ended = case["attempts"][-1] + timedelta(minutes=3)
                assert call.placed_time >= ended + timedelta(days=7)
