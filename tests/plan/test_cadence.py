"""The four-step plan of the acceptance: an email 3 days before the due date, a call the day
after, a call and an email a week after, a call two weeks after; a debtor in Los Angeles,
across the end of daylight-saving time and a weekend."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from credira.invoice import state as invoice_state
from credira.models import CollectionPlan, Invoice
from credira.plan import service as plan_service
from credira.plan.tasks import PlanSteps
from credira.suppression import repository as suppressions
from tests.plan.conftest import Plans


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_four_steps_run_at_their_local_times_as_previewed(plans: Plans) -> None:
    plan = await plans.plan()
    preview = (
        await plans.tenant.ok(
            "POST",
            f"/v1/collection-plans/{plan['id']}/preview",
            json={
                "due_date": "2026-11-01",
                "timezone": "America/Los_Angeles",
                "phone": "+14155550142",
                "email": "jane@example.com",
            },
        )
    )["data"]
    entries = preview["entries"]
    assert [(e["time"], e["local_time"], e["channels"], e["moved_by"]) for e in entries] == [
        ("2026-10-29T17:00:00Z", "2026-10-29T10:00:00-07:00", ["email"], []),
        # Daylight-saving time ended on Sunday: 10:00 is now 18:00 UTC.
        ("2026-11-02T18:00:00Z", "2026-11-02T10:00:00-08:00", ["call"], []),
        # Sunday the 8th and the 15th: moved to Monday at the same local time.
        ("2026-11-09T18:00:00Z", "2026-11-09T10:00:00-08:00", ["call", "email"], ["weekend"]),
        ("2026-11-16T18:00:00Z", "2026-11-16T10:00:00-08:00", ["call"], ["weekend"]),
    ]
    invoice = await plans.invoice(plan["id"])
    assert invoice["plan_id"] == plan["id"]
    assert invoice["plan"]["status"] == "active"
    assert invoice["plan"]["next_step_time"] == "2026-10-29T17:00:00Z"
    schedule = (await plans.tenant.ok("GET", f"/v1/invoices/{invoice['id']}/schedule"))["data"]
    assert schedule["entries"] == entries

    for step, entry in enumerate(entries):
        due = _instant(entry["time"])
        await plans.at(due - timedelta(seconds=1))
        assert len(await plans.callouts(invoice["id"])) == step
        await plans.at(due)
        await plans.at(due)  # again: a step runs once
        made = await plans.callouts(invoice["id"])
        assert len(made) == step + 1
        callout = made[-1]
        assert callout["scheduled_time"] == entry["time"]
        assert callout["actions"]["calls_enabled"] == ("call" in entry["channels"])
        assert callout["actions"]["emails_enabled"] == ("email" in entry["channels"])
        assert callout["metadata"] == {
            "campaign_id": "camp_fall",
            "plan_id": plan["id"],
            "plan_step": step,
        }
    assert made[-1]["priority"] == "high"
    done = (await plans.tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert done["plan"]["status"] == "completed"
    assert done["plan"]["current_step"] == 4

    events = (
        await plans.tenant.ok(
            "GET", "/v1/events", params={"invoice_id": invoice["id"], "type": "plan_step.*"}
        )
    )["data"]
    assert sorted(e["data"]["step"] for e in events) == [0, 1, 2, 3]
    assert {e["type"] for e in events} == {"plan_step.scheduled"}
    assert {e["callout_id"] for e in events} == {c["id"] for c in made}


async def test_paying_stops_the_plan(plans: Plans) -> None:
    plan = await plans.plan()
    invoice = await plans.invoice(plan["id"])
    schedule = (await plans.tenant.ok("GET", f"/v1/invoices/{invoice['id']}/schedule"))["data"]
    times = [_instant(e["time"]) for e in schedule["entries"]]
    await plans.at(times[0])
    [first] = await plans.callouts(invoice["id"])
    paid = (await plans.tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"status": "paid"}))[
        "data"
    ]
    assert paid["plan"]["status"] == "stopped"
    assert paid["plan"]["reason"] == "invoice paid"
    for when in times[1:]:
        await plans.at(when + timedelta(minutes=1))
    callouts = await plans.callouts(invoice["id"])
    assert [c["id"] for c in callouts] == [first["id"]]
    assert callouts[0]["status"] == "cancelled"
    calls = await plans.tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    assert calls["data"] == []
    emails = await plans.tenant.ok("GET", "/v1/emails", params={"callout_id": first["id"]})
    assert emails["data"] == []
    schedule = (await plans.tenant.ok("GET", f"/v1/invoices/{invoice['id']}/schedule"))["data"]
    assert schedule["entries"] == []


async def _promise(plans: Plans, invoice_id: str, promised: date, now: datetime) -> None:
    """What a call whose debtor promised to pay does (``worker.effects``): the promised date
    on the invoice, and its plan paused until that day begins in the debtor's zone."""
    async with plans.steps.sessionmaker() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice_state.promised(session, invoice, promised, now)
        start = datetime.combine(promised, time(0), tzinfo=ZoneInfo("America/Los_Angeles"))
        plan_service.promise_pause(session, invoice, start, now)
        await session.commit()


async def test_a_promise_pauses_the_plan_and_a_broken_one_resumes_it(plans: Plans) -> None:
    plan = await plans.plan()
    invoice = await plans.invoice(plan["id"])
    path = f"/v1/invoices/{invoice['id']}"
    entries = (await plans.tenant.ok("GET", f"{path}/schedule"))["data"]["entries"]
    times = [_instant(e["time"]) for e in entries]
    await plans.at(times[1])  # the email and the first call
    assert len(await plans.callouts(invoice["id"])) == 2

    # On the call the debtor promises to pay by Thursday the 12th.
    await _promise(plans, invoice["id"], date(2026, 11, 12), times[1] + timedelta(minutes=5))
    paused = (await plans.tenant.ok("GET", path))["data"]
    assert paused["plan"]["status"] == "paused"
    assert paused["plan"]["reason"] == "promise_to_pay"
    assert paused["plan"]["paused_until"] == "2026-11-12T08:00:00Z"
    schedule = (await plans.tenant.ok("GET", f"{path}/schedule"))["data"]["entries"]
    assert [(e["step"], e["blocked"]) for e in schedule] == [(2, "promise_to_pay"), (3, None)]

    # Monday the 9th passes without a contact; the promise is broken (nothing paid by the
    # 12th), so the plan goes on with the call of the 16th.
    await plans.at(times[2] + timedelta(hours=1))
    assert len(await plans.callouts(invoice["id"])) == 2
    await plans.at(_instant("2026-11-12T08:00:00Z"))
    resumed = (await plans.tenant.ok("GET", path))["data"]
    assert resumed["plan"]["status"] == "active"
    assert resumed["plan"]["current_step"] == 3
    await plans.at(times[3])
    made = await plans.callouts(invoice["id"])
    assert len(made) == 3
    assert made[-1]["scheduled_time"] == entries[3]["time"]
    skipped = (
        await plans.tenant.ok(
            "GET", "/v1/events", params={"invoice_id": invoice["id"], "type": "plan_step.skipped"}
        )
    )["data"]
    assert [(e["data"]["step"], e["data"]["reason"]) for e in skipped] == [(2, "paused")]


async def test_pause_and_resume_by_hand(plans: Plans) -> None:
    plan = await plans.plan()
    invoice = await plans.invoice(plan["id"])
    path = f"/v1/invoices/{invoice['id']}"
    paused = await plans.tenant.ok("POST", f"{path}/pause", json={"reason": "in talks"})
    assert paused["data"]["plan"]["status"] == "paused"
    assert paused["data"]["plan"]["paused_until"] is None
    entries = (await plans.tenant.ok("GET", f"{path}/schedule"))["data"]["entries"]
    assert {e["blocked"] for e in entries} == {"paused"}
    await plans.at(_instant(entries[1]["time"]) + timedelta(hours=1))
    assert await plans.callouts(invoice["id"]) == []
    resumed = await plans.tenant.ok("POST", f"{path}/resume")
    assert resumed["data"]["plan"]["status"] == "active"
    assert resumed["data"]["plan"]["current_step"] == 2
    again = await plans.tenant.request("POST", f"{path}/resume")
    assert again.status_code == 409
    await plans.at(_instant(entries[2]["time"]))
    [made] = await plans.callouts(invoice["id"])
    assert made["metadata"]["plan_step"] == 2


async def test_editing_a_plan_changes_only_what_has_not_run(plans: Plans) -> None:
    plan = await plans.plan()
    invoice = await plans.invoice(plan["id"])
    path = f"/v1/invoices/{invoice['id']}"
    entries = (await plans.tenant.ok("GET", f"{path}/schedule"))["data"]["entries"]
    await plans.at(_instant(entries[1]["time"]))
    ran = await plans.callouts(invoice["id"])
    steps = plans.body()["steps"]
    steps[0]["time"] = "08:00"  # run already: stays as it ran
    steps[2]["time"] = "15:30"
    await plans.tenant.ok("PUT", f"/v1/collection-plans/{plan['id']}", json={"steps": steps})
    after = (await plans.tenant.ok("GET", f"{path}/schedule"))["data"]["entries"]
    assert [e["step"] for e in after] == [2, 3]
    assert after[0]["local_time"] == "2026-11-09T15:30:00-08:00"
    await plans.at(_instant(after[0]["time"]) - timedelta(minutes=1))
    assert await plans.callouts(invoice["id"]) == ran
    await plans.at(_instant(after[0]["time"]))
    made = await plans.callouts(invoice["id"])
    assert made[:2] == ran
    assert made[2]["scheduled_time"] == after[0]["time"]


async def test_an_opted_out_number_loses_the_steps_calls(plans: Plans) -> None:
    plan = await plans.plan()
    invoice = await plans.invoice(plan["id"])
    async with plans.steps.sessionmaker() as session:
        await suppressions.suppress(
            session,
            plans.tenant.account_id,
            "phone",
            "+14155550142",
            reason="asked not to be called",
            source=None,
            now=plans.clock.now(),
        )
        await session.commit()
    path = f"/v1/invoices/{invoice['id']}"
    entries = (await plans.tenant.ok("GET", f"{path}/schedule"))["data"]["entries"]
    assert [(e["channels"], e["blocked"]) for e in entries] == [
        (["email"], None),
        ([], "opted_out"),
        (["email"], None),
        ([], "opted_out"),
    ]
    await plans.at(_instant(entries[-1]["time"]))
    made = await plans.callouts(invoice["id"])
    assert [c["metadata"]["plan_step"] for c in made] == [0, 2]
    assert not any(c["actions"]["calls_enabled"] for c in made)
    skipped = (
        await plans.tenant.ok(
            "GET", "/v1/events", params={"invoice_id": invoice["id"], "type": "plan_step.skipped"}
        )
    )["data"]
    assert sorted((e["data"]["step"], e["data"]["reason"]) for e in skipped) == [
        (1, "opted_out"),
        (3, "opted_out"),
    ]


async def test_concurrent_workers_make_each_step_once(plans: Plans) -> None:
    plan = await plans.plan()
    invoices = [await plans.invoice(plan["id"]) for _ in range(12)]
    others = [PlanSteps(plans.steps.sessionmaker, plans.clock) for _ in range(3)]
    plans.clock.set(_instant("2026-10-29T17:00:00Z"))
    await asyncio.gather(*(worker.run_due() for worker in [plans.steps, *others] * 2))
    for invoice in invoices:
        made = await plans.callouts(invoice["id"])
        assert [c["metadata"]["plan_step"] for c in made] == [0]


async def test_an_invoice_that_cannot_move_does_not_hold_up_the_others(plans: Plans) -> None:
    broken = await plans.plan(name="Broken")
    sound = await plans.plan(name="Sound")
    stuck = await plans.invoice(broken["id"])
    fine = await plans.invoice(sound["id"])
    async with plans.steps.sessionmaker() as session:
        # A step no code writes (no channels): reading it fails.
        await session.execute(
            update(CollectionPlan)
            .where(CollectionPlan.id == broken["id"])
            .values(steps=[{"offset_days": -3}], version=CollectionPlan.version + 1)
        )
        await session.commit()
    due = _instant("2026-10-29T17:00:00Z")
    await plans.at(due)
    assert len(await plans.callouts(fine["id"])) == 1
    assert await plans.callouts(stuck["id"]) == []
    later = (await plans.tenant.ok("GET", f"/v1/invoices/{stuck['id']}"))["data"]
    assert later["plan"]["next_step_time"] == "2026-10-29T17:10:00Z"
