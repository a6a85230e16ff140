"""The event log through the API: each object's events are exactly its transitions, in order,
and the last one's ``data`` is the object as the API shows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.event import log
from credira.event.types import EventType
from credira.models import Account, IdempotencyRecord
from credira.worker.calls import write_progress
from tests.support import Api, Tenant, eventually, zone_in_calling_hours


def phone(digits: str) -> str:
    return f"+141555501{digits}"


async def events_of(tenant: Tenant, object_id: str) -> list[dict[str, Any]]:
    """The object's events, oldest first."""
    reply = await tenant.ok("GET", "/v1/events", params={"object_id": object_id})
    assert reply["meta"]["total_events"] == len(reply["data"])
    return list(reversed(reply["data"]))


async def finished(tenant: Tenant, callout_id: str, *, within: float = 15) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        data = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        if data["status"] in ("completed", "failed", "cancelled"):
            return data
        if data["status"] == "scheduled" and "hold_reason" in data:
            return data
        return None

    result: dict[str, Any] = await eventually(check, within=within)
    return result


async def setup(api: Api, digits: str) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone(digits), "timezone": zone_in_calling_hours()}
    )
    return tenant, invoice, await tenant.agent()


async def test_answered_callout_events_are_its_transitions_in_order(api: Api) -> None:
    tenant, invoice, agent = await setup(api, "00")
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    created = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    callout = await finished(tenant, created["id"])
    assert callout["status"] == "completed"

    events = await events_of(tenant, callout["id"])
    assert [e["type"] for e in events] == [
        "callout.scheduled",
        "callout.active",
        "callout.completed",
    ]
    assert events[0]["data"] == created
    assert events[-1]["data"] == callout
    assert all(e["invoice_id"] == invoice["id"] for e in events)
    assert all(e["callout_id"] == callout["id"] for e in events)

    [listed] = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    call = (await tenant.ok("GET", f"/v1/calls/{listed['id']}"))["data"]
    call_events = await events_of(tenant, call["id"])
    types = [e["type"] for e in call_events]
    assert types[0] == "call.initiated"
    assert types[-1] == "call.completed"
    assert set(types[1:-1]) <= {"call.ringing", "call.in_progress"}
    assert types[1:-1] == sorted(types[1:-1], key=["call.ringing", "call.in_progress"].index)
    assert call_events[-1]["data"] == call
    assert call_events[-1]["callout_id"] == callout["id"]

    one = (await tenant.ok("GET", f"/v1/events/{events[-1]['id']}"))["data"]
    assert one == events[-1]


async def test_unanswered_callout_is_held_for_its_retry(api: Api) -> None:
    tenant, invoice, agent = await setup(api, "01")  # the simulator: no answer
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    created = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    callout = await finished(tenant, created["id"])
    assert callout["status"] == "scheduled"

    events = await events_of(tenant, callout["id"])
    assert [e["type"] for e in events] == ["callout.scheduled", "callout.active", "callout.held"]
    assert events[-1]["data"] == callout
    assert events[-1]["data"]["hold_reason"] == "retry_after_no_answer"


async def test_cancelled_and_updated_callout_events(api: Api) -> None:
    tenant, invoice, agent = await setup(api, "00")
    body = {
        "invoice_id": invoice["id"],
        "scheduled_time": "2099-01-01T00:00:00Z",
        "actions": {"voice_agent_id": agent["id"]},
    }
    created = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    await tenant.ok("PUT", f"/v1/callouts/{created['id']}", json={"priority": "high"})
    cancelled = (await tenant.ok("POST", f"/v1/callouts/{created['id']}/cancel", json={}))["data"]

    events = await events_of(tenant, created["id"])
    assert [e["type"] for e in events] == [
        "callout.scheduled",
        "callout.updated",
        "callout.cancelled",
    ]
    assert events[1]["data"]["priority"] == "high"
    current = (await tenant.ok("GET", f"/v1/callouts/{created['id']}"))["data"]
    assert events[-1]["data"] == current == cancelled


async def test_events_filter_by_type_wildcard_and_page_newest_first(api: Api) -> None:
    tenant, invoice, agent = await setup(api, "00")
    ids = []
    for _ in range(3):
        body = {
            "invoice_id": invoice["id"],
            "scheduled_time": "2099-01-01T00:00:00Z",
            "actions": {"voice_agent_id": agent["id"]},
        }
        ids.append((await tenant.ok("POST", "/v1/callouts", json=body))["data"]["id"])

    every = await tenant.ok("GET", "/v1/events", params={"type": "callout.*"})
    assert [e["object_id"] for e in every["data"]] == list(reversed(ids))
    page = await tenant.ok("GET", "/v1/events", params={"type": "callout.scheduled", "limit": 2})
    assert [e["object_id"] for e in page["data"]] == [ids[2], ids[1]]
    assert page["meta"]["has_more"] is True
    rest = await tenant.ok(
        "GET",
        "/v1/events",
        params={"type": "callout.scheduled", "starting_after": page["data"][-1]["id"]},
    )
    assert [e["object_id"] for e in rest["data"]] == [ids[0]]
    by_invoice = await tenant.ok("GET", "/v1/events", params={"invoice_id": invoice["id"]})
    assert by_invoice["meta"]["total_events"] >= 3

    bad = await tenant.request("GET", "/v1/events", params={"type": "callout.exploded"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "type"


async def test_another_accounts_events_are_not_found(api: Api) -> None:
    tenant, invoice, agent = await setup(api, "00")
    body = {
        "invoice_id": invoice["id"],
        "scheduled_time": "2099-01-01T00:00:00Z",
        "actions": {"voice_agent_id": agent["id"]},
    }
    created = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    [event] = await events_of(tenant, created["id"])
    other = await api.tenant("Other Corp")
    assert (await other.request("GET", f"/v1/events/{event['id']}")).status_code == 404
    listed = await other.ok("GET", "/v1/events", params={"object_id": created["id"]})
    assert listed["data"] == []


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_a_rolled_back_change_leaves_no_event(api: Api, app: Any, outcome: str) -> None:
    tenant = await api.tenant()
    account = {"id": tenant.account_id}
    sessionmaker = app.state.runtime.sessionmaker
    async with sessionmaker() as session:
        assert isinstance(session, AsyncSession)
        await session.get(Account, account["id"])
        log.record(
            session,
            EventType.INVOICE_UPDATED,
            account_id=account["id"],
            object_id="inv_rolledback",
            data={},
            now=app.state.runtime.clock.now(),
        )
        assert len(log.pending(session)) == 1
        if outcome == "commit":
            await session.commit()
        else:
            await session.rollback()
        assert log.pending(session) == []
    listed = await tenant.ok("GET", "/v1/events", params={"object_id": "inv_rolledback"})
    assert len(listed["data"]) == (1 if outcome == "commit" else 0)


async def test_an_opt_out_on_a_call_is_an_event_after_its_end(api: Api) -> None:
    tenant, invoice, agent = await setup(api, "08")  # the simulator: "Stop calling me"
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    created = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    await finished(tenant, created["id"])
    [listed] = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    events = await events_of(tenant, listed["id"])
    assert [e["type"] for e in events][-2:] == ["call.completed", "call.opted_out"]
    assert events[-1]["data"]["outcome"] == "opt_out"


async def test_events_past_the_retention_period_are_pruned(api: Api, app: Any) -> None:
    tenant = await api.tenant()
    runtime = app.state.runtime
    now = runtime.clock.now()
    async with runtime.sessionmaker() as session:
        for object_id, age in (("inv_old", 31), ("inv_recent", 29)):
            log.record(
                session,
                EventType.INVOICE_UPDATED,
                account_id=tenant.account_id,
                object_id=object_id,
                data={},
                now=now - timedelta(days=age),
            )
        await session.commit()

    assert await runtime.worker.prune_events() >= 1

    kept = await tenant.ok("GET", "/v1/events", params={"type": "invoice.updated"})
    assert [e["object_id"] for e in kept["data"] if e["object_id"].startswith("inv_")] == [
        "inv_recent"
    ]


async def test_idempotency_records_past_a_day_are_pruned(api: Api, app: Any) -> None:
    """A key is kept 24 hours (the README's promise): within them a reuse with another body is
    refused; once the worker has pruned the record, the key is free again."""
    tenant = await api.tenant()
    runtime = app.state.runtime
    key = {"Idempotency-Key": "retention-1"}

    def body(number: str) -> dict[str, Any]:
        return {
            "number": number,
            "amount": "10.00",
            "currency": "USD",
            "due_date": "2024-01-30",
            "customer": {"name": "Jane Roe", "email": "jane@example.com"},
        }

    first = await tenant.request("POST", "/v1/invoices", json=body("INV-R1"), headers=key)
    assert first.status_code == 201, first.text
    await runtime.worker.prune_events()
    again = await tenant.request("POST", "/v1/invoices", json=body("INV-R2"), headers=key)
    assert again.status_code == 409, again.text

    async with runtime.sessionmaker() as session:
        await session.execute(
            update(IdempotencyRecord).values(
                created_time=runtime.clock.now() - timedelta(hours=24, minutes=1)
            )
        )
        await session.commit()
    assert await runtime.worker.prune_events() >= 1

    later = await tenant.request("POST", "/v1/invoices", json=body("INV-R2"), headers=key)
    assert later.status_code == 201, later.text
    assert later.json()["data"]["number"] == "INV-R2"


async def test_a_late_progress_report_leaves_a_finished_call_and_its_events_alone(
    api: Api, app: Any
) -> None:
    tenant, invoice, agent = await setup(api, "00")
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    created = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    await finished(tenant, created["id"])
    [listed] = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    call = (await tenant.ok("GET", f"/v1/calls/{listed['id']}"))["data"]
    before = await events_of(tenant, call["id"])
    assert call["status"] == "completed"

    # A follower that stalled past its lease reports what the provider said a while ago.
    runtime = app.state.runtime
    now = runtime.clock.now()
    late = [{"id": call["id"], "status": "in_progress", "start_time": now, "updated_time": now}]
    async with runtime.sessionmaker() as session:
        await write_progress(session, late, runtime.settings.public_url, now)
        await session.commit()

    assert (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"] == call
    assert await events_of(tenant, call["id"]) == before
