"""The events of what an answered call's outcome does to its invoice and the invoice's other
callouts (the simulator's numbers ending 05, 06, 07): each change is its object's event, and
the last event holds the object as the API shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import Api, Tenant, eventually, zone_in_calling_hours


async def events_of(tenant: Tenant, object_id: str) -> list[dict[str, Any]]:
    """The object's events, oldest first."""
    reply = await tenant.ok("GET", "/v1/events", params={"object_id": object_id})
    return list(reversed(reply["data"]))


async def types_of(tenant: Tenant, object_id: str) -> list[str]:
    return [e["type"] for e in await events_of(tenant, object_id)]


async def last_is_as_shown(tenant: Tenant, path: str, object_id: str) -> None:
    shown = (await tenant.ok("GET", path))["data"]
    assert (await events_of(tenant, object_id))[-1]["data"] == shown


async def answered(api: Api, digits: str) -> tuple[Tenant, dict[str, Any], dict[str, Any], str]:
    """An invoice whose debtor answers as the simulator's number ``digits`` does, a callout
    due in two hours, and a callout due now, once its call has concluded: (tenant, invoice,
    the later callout, the called one's id)."""
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        customer={
            "name": "John Doe",
            "phone": f"+141555501{digits}",
            "timezone": zone_in_calling_hours(),
        }
    )
    agent = await tenant.agent()
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    other = await tenant.callout(invoice["id"], agent["id"], scheduled_time=later)
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    called = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    async def done() -> bool:
        data = (await tenant.ok("GET", f"/v1/callouts/{called['id']}"))["data"]
        return data["status"] in ("completed", "failed", "cancelled")

    await eventually(done, within=15)
    return tenant, invoice, other, called["id"]


async def test_a_promise_to_pay_is_the_invoices_event_and_holds_its_other_callout(
    api: Api,
) -> None:
    tenant, invoice, other, called = await answered(api, "05")

    assert await types_of(tenant, invoice["id"]) == ["invoice.created", "invoice.promised"]
    [*_, promised] = await events_of(tenant, invoice["id"])
    assert promised["data"]["promised_date"] is not None
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])
    assert await types_of(tenant, other["id"]) == ["callout.scheduled", "callout.held"]
    [*_, held] = await events_of(tenant, other["id"])
    assert held["data"]["hold_reason"] == "promise_to_pay"
    await last_is_as_shown(tenant, f"/v1/callouts/{other['id']}", other["id"])
    assert (await types_of(tenant, called))[-1] == "callout.completed"


async def test_a_dispute_is_the_invoices_event_and_cancels_its_other_callout(api: Api) -> None:
    tenant, invoice, other, called = await answered(api, "06")

    assert await types_of(tenant, invoice["id"]) == ["invoice.created", "invoice.disputed"]
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])
    assert await types_of(tenant, other["id"]) == ["callout.scheduled", "callout.cancelled"]
    await last_is_as_shown(tenant, f"/v1/callouts/{other['id']}", other["id"])
    assert (await types_of(tenant, called))[-1] == "callout.completed"


async def test_a_callback_request_schedules_a_follow_up_with_its_event(api: Api) -> None:
    tenant, invoice, other, called = await answered(api, "07")

    listed = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
    [follow_up] = [c for c in listed["data"] if c["id"] not in (other["id"], called)]
    assert follow_up["type"] == "follow_up"
    assert await types_of(tenant, follow_up["id"]) == ["callout.scheduled"]
    await last_is_as_shown(tenant, f"/v1/callouts/{follow_up['id']}", follow_up["id"])
    assert await types_of(tenant, invoice["id"]) == ["invoice.created"]
