"""Property: for any plan, zone and due date, the worker makes each step's callout at exactly
the time the preview (and the invoice's schedule) showed, with the channels it showed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credira.kit.clock import format_time
from tests.plan.conftest import Plans

ZONES = [
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Chatham",
]


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    steps: list[dict[str, Any]] = []
    day = draw(st.integers(-10, 10))
    for index in range(count):
        gap = draw(st.integers(1, 9))
        anchor = "due_date" if index == 0 else draw(st.sampled_from(["due_date", "previous_step"]))
        if index:
            day += gap
        step: dict[str, Any] = {
            "offset_days": gap if anchor == "previous_step" else day,
            "anchor": anchor,
            "time": f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30, 45])):02d}",
            "channels": draw(st.sampled_from([["email"], ["call"], ["call", "email"]])),
        }
        if draw(st.booleans()):
            hour = int(step["time"][:2])
            if hour < 23:
                step["window_end"] = f"{draw(st.integers(hour + 1, 23)):02d}:00"
        steps.append(step)
    return {
        "zone": draw(st.sampled_from(ZONES)),
        "due": draw(st.dates(date(2026, 1, 1), date(2027, 12, 31))),
        "steps": steps,
        "min_gap_hours": draw(st.sampled_from([0, 24, 60])),
        "skip_weekends": draw(st.booleans()),
        "skip_holidays": draw(st.booleans()),
    }


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
async def test_property_execution_follows_the_preview(plans: Plans, case: dict[str, Any]) -> None:
    for step in case["steps"]:
        if "call" in step["channels"]:
            step["voice_agent_id"] = plans.agent_id
    plan = await plans.plan(
        steps=case["steps"],
        min_gap_hours=case["min_gap_hours"],
        skip_weekends=case["skip_weekends"],
        skip_holidays=case["skip_holidays"],
    )
    start = datetime.combine(
        case["due"] - timedelta(days=40), time(0), tzinfo=plans.clock.now().tzinfo
    )
    plans.clock.set(start)
    contact = {"phone": "+14155550142", "email": "jane@example.com", "timezone": case["zone"]}
    preview = await plans.tenant.ok(
        "POST",
        f"/v1/collection-plans/{plan['id']}/preview",
        json={"due_date": case["due"].isoformat(), **contact},
    )
    entries = preview["data"]["entries"]
    assert len(entries) == len(case["steps"])
    invoice = await plans.invoice(
        plan["id"],
        due_date=case["due"].isoformat(),
        customer={"name": "Jane Roe", **contact},
    )
    schedule = await plans.tenant.ok("GET", f"/v1/invoices/{invoice['id']}/schedule")
    assert schedule["data"]["entries"] == entries
    times = [_instant(e["time"]) for e in entries]
    # One contact a day at most, in the plan's order, each on a later local day.
    days = [e["local_time"][:10] for e in entries]
    assert days == sorted(set(days))
    for step, entry in enumerate(entries):
        await plans.at(times[step])
        made = await plans.callouts(invoice["id"])
        assert [c["scheduled_time"] for c in made] == [e["time"] for e in entries[: step + 1]]
        assert made[-1]["actions"]["calls_enabled"] == ("call" in entry["channels"])
        assert made[-1]["actions"]["emails_enabled"] == ("email" in entry["channels"])
        assert format_time(times[step]) == entry["time"]
    await plans.tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"plan_id": None})
