"""An invoice's events: each change of status is its own event (paid, disputed, voided,
reopened), other changes are ``invoice.updated``; settling the invoice cancels its callouts and
undialled calls, each with its event; the last event's ``data`` is the object as GET shows it,
and a change refused or rolled back leaves none."""

from __future__ import annotations

from typing import Any

from tests.call.documented import call_request
from tests.support import Api, Tenant


async def events_of(tenant: Tenant, object_id: str) -> list[dict[str, Any]]:
    """The object's events, oldest first."""
    reply = await tenant.ok("GET", "/v1/events", params={"object_id": object_id})
    assert reply["meta"]["total_events"] == len(reply["data"])
    assert all(e["object_id"] == object_id for e in reply["data"])
    return list(reversed(reply["data"]))


async def types_of(tenant: Tenant, object_id: str) -> list[str]:
    return [e["type"] for e in await events_of(tenant, object_id)]


async def last_is_as_shown(tenant: Tenant, path: str, object_id: str) -> None:
    """The object's last event holds the object as ``GET path`` answers it."""
    shown = (await tenant.ok("GET", path))["data"]
    assert (await events_of(tenant, object_id))[-1]["data"] == shown


async def put_invoice(tenant: Tenant, invoice_id: str, **body: Any) -> dict[str, Any]:
    return (await tenant.ok("PUT", f"/v1/invoices/{invoice_id}", json=body))["data"]


async def test_a_created_invoice_has_one_event_with_the_invoice_as_shown(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()

    [created] = await events_of(tenant, invoice["id"])

    assert created["type"] == "invoice.created"
    assert created["invoice_id"] == invoice["id"]
    assert created["data"] == invoice
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])


async def test_an_invoice_created_settled_has_only_its_created_event(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice(status="paid")

    assert await types_of(tenant, invoice["id"]) == ["invoice.created"]
    assert (await events_of(tenant, invoice["id"]))[-1]["data"]["status"] == "paid"


async def test_marking_an_invoice_paid_cancels_its_callout_with_events_on_both(
    api: Api,
) -> None:
    tenant = await api.tenant()
    invoice, _, callout = await tenant.scenario()
    etag = (await tenant.request("GET", f"/v1/callouts/{callout['id']}")).headers["ETag"]

    paid = await put_invoice(tenant, invoice["id"], status="paid")

    assert paid["status"] == "paid"
    assert await types_of(tenant, invoice["id"]) == ["invoice.created", "invoice.paid"]
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])
    assert await types_of(tenant, callout["id"]) == ["callout.scheduled", "callout.cancelled"]
    await last_is_as_shown(tenant, f"/v1/callouts/{callout['id']}", callout["id"])
    cancelled = (await events_of(tenant, callout["id"]))[-1]
    assert (cancelled["invoice_id"], cancelled["callout_id"]) == (invoice["id"], callout["id"])
    assert cancelled["data"]["status_reason"] == "invoice paid"
    # The callout's version moved with the change (a client holding the old ETag is told).
    assert (await tenant.request("GET", f"/v1/callouts/{callout['id']}")).headers["ETag"] != etag


async def test_a_requested_call_cancelled_by_a_dispute_shows_initiated_then_cancelled(
    api: Api,
) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    call = (await tenant.ok("POST", "/v1/calls", json=call_request(invoice, agent)))["data"]

    await put_invoice(tenant, invoice["id"], status="disputed", status_reason="goods not received")

    assert await types_of(tenant, call["id"]) == ["call.initiated", "call.cancelled"]
    await last_is_as_shown(tenant, f"/v1/calls/{call['id']}", call["id"])
    shown = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    assert shown["status"] == "cancelled"
    invoice_events = await events_of(tenant, invoice["id"])
    assert [e["type"] for e in invoice_events] == ["invoice.created", "invoice.disputed"]
    assert invoice_events[-1]["data"]["status_reason"] == "goods not received"
    # The call's callout was cancelled with it.
    [callout] = (await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]}))[
        "data"
    ]
    assert (await types_of(tenant, callout["id"]))[-1] == "callout.cancelled"


async def test_each_status_change_is_its_own_event_and_other_changes_are_updates(
    api: Api,
) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()

    await put_invoice(tenant, invoice["id"], amount="99.00")
    await put_invoice(tenant, invoice["id"], status="paid")
    await put_invoice(tenant, invoice["id"], status="open", status_reason="payment reversed")
    # A change of fields and of status in one request: the fields' event, then the status's.
    await put_invoice(tenant, invoice["id"], number="INV-X", status="disputed")
    # The same status again is no move: an update.
    await put_invoice(tenant, invoice["id"], status="disputed", status_reason="see ticket 42")
    await put_invoice(tenant, invoice["id"], status="void")

    events = await events_of(tenant, invoice["id"])
    assert [e["type"] for e in events] == [
        "invoice.created",
        "invoice.updated",
        "invoice.paid",
        "invoice.reopened",
        "invoice.updated",
        "invoice.disputed",
        "invoice.updated",
        "invoice.voided",
    ]
    assert events[1]["data"]["amount"] == "99.00"
    assert events[3]["data"]["status_reason"] == "payment reversed"
    # The update's snapshot is the invoice before its status changed.
    assert (events[4]["data"]["number"], events[4]["data"]["status"]) == ("INV-X", "open")
    assert events[5]["data"]["status"] == "disputed"
    assert events[6]["data"]["status_reason"] == "see ticket 42"
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])


async def test_a_void_invoice_refuses_another_status_and_records_nothing(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    await put_invoice(tenant, invoice["id"], status="void")

    refused = await tenant.request(
        "PUT", f"/v1/invoices/{invoice['id']}", json={"status": "open", "amount": "1.00"}
    )

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["message"] == "Cannot change the status of a void invoice"
    assert await types_of(tenant, invoice["id"]) == ["invoice.created", "invoice.voided"]
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])


async def test_a_rolled_back_settlement_leaves_no_event_and_its_callout_scheduled(
    api: Api,
) -> None:
    tenant = await api.tenant()
    invoice, _, callout = await tenant.scenario()

    # A stale If-Match is judged after the change was made: the transaction rolls back.
    stale = await tenant.request(
        "PUT",
        f"/v1/invoices/{invoice['id']}",
        json={"status": "paid"},
        headers={"If-Match": '"999"'},
    )

    assert stale.status_code == 412, stale.text
    assert await types_of(tenant, invoice["id"]) == ["invoice.created"]
    assert await types_of(tenant, callout["id"]) == ["callout.scheduled"]
    shown = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
    assert shown["status"] == "scheduled"
    await last_is_as_shown(tenant, f"/v1/invoices/{invoice['id']}", invoice["id"])
