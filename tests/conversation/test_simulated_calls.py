"""A conversation agent's calls on the built-in simulator: the scripted debtor of the dialled
number talks to the real agent loop, and what the agent recorded through its tools is the
call's outcome, with its effects and events, and the conversation turn by turn in the call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.support import Api, Tenant, eventually, zone_in_calling_hours

from credira.auth.permissions import ALL_PERMISSIONS
from credira.conversation.debtor import BY_DIGITS

pytestmark = pytest.mark.asyncio(loop_scope="module")

WRONG_NUMBER = next(digits for digits, name in BY_DIGITS.items() if name == "wrong_number")


async def concluded(tenant: Tenant, digits: str, agent_id: str) -> dict[str, Any]:
    """The call of a callout to a number ending ``digits``, once its callout finished."""
    invoice = await tenant.invoice(
        customer={
            "name": "Jane Doe",
            "phone": f"+141555501{digits}",
            "email": "jane@example.com",
            "timezone": zone_in_calling_hours(),
        }
    )
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent_id}}
    callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    async def done() -> bool:
        data = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
        return data["status"] in ("completed", "failed", "cancelled")

    await eventually(done, within=20)
    calls = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    [call] = calls["data"]
    detail = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    detail["invoice"] = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    text = await tenant.request("GET", f"/transcriptions/{call['id']}.txt")
    detail["transcript"] = text.text if text.status_code == 200 else None
    return detail


def tools(call: dict[str, Any]) -> list[str]:
    lines = call["metadata"]["conversation"]["lines"]
    return [line["name"] for line in lines if line["type"] == "tool" and line["accepted"]]


async def test_the_simulators_debtors_talk_to_the_agent_and_its_tools_make_the_outcome(
    shared_api: Api,
) -> None:
    tenant = await shared_api.tenant(permissions=list(ALL_PERMISSIONS))
    # The account's settings reach the agent: a collector's disclosure, its callback number.
    settings = {"third_party_collector": True, "callback_number": "+14155550100"}
    await tenant.ok("PUT", "/v1/account/settings", json=settings)
    agent = await tenant.agent(mode="conversation")
    assert agent["mode"] == "conversation"
    promise, dispute, opt_out, wrong = await asyncio.gather(
        *(concluded(tenant, digits, agent["id"]) for digits in ("05", "06", "08", WRONG_NUMBER))
    )

    assert promise["outcome"] == "promise_to_pay"
    assert promise["summary"].startswith("Promised to pay 1250.00 on ")
    assert tools(promise) == ["verify_identity", "record_promise", "end_call"]
    assert promise["invoice"]["promised_date"] is not None
    assert "I'll pay the full amount on Friday" in promise["transcript"]
    assert promise["transcript"].startswith("Agent: Hello, this call is recorded.")
    assert "Agent: This is a communication from a debt collector." in promise["transcript"]

    assert tools(dispute) == ["verify_identity", "record_dispute", "end_call"]
    assert dispute["outcome"] == "dispute"
    assert dispute["invoice"]["status"] == "disputed"

    assert tools(opt_out) == ["verify_identity", "record_opt_out"]
    events = await tenant.ok("GET", "/v1/events", params={"object_id": opt_out["id"]})
    types = [e["type"] for e in events["data"]]
    assert "call.opted_out" in types
    [completed] = [e for e in events["data"] if e["type"] == "call.completed"]
    assert completed["data"]["metadata"]["conversation"]["outcome"] == "opt_out"

    # A wrong number hears nothing of the debt.
    assert tools(wrong) == ["report_wrong_party"]
    assert wrong["outcome"] == "wrong_party"
    said = [
        line["text"]
        for line in wrong["metadata"]["conversation"]["lines"]
        if line["type"] == "turn" and line["speaker"] == "agent"
    ]
    assert not any("1,250" in text or "INV-" in text or "invoice" in text for text in said)
    assert not any("debt collector" in text for text in said)


PAYMENT_LINK = next(digits for digits, name in BY_DIGITS.items() if name == "payment_link")


async def test_the_payment_link_asked_for_on_the_call_goes_by_email(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    await tenant.ok(
        "POST",
        "/v1/email-templates",
        json={
            "name": "Reminder",
            "subject": "Invoice {{ invoice_number }}",
            "category": "payment_reminder",
            "html_content": "<p>Pay {{ amount }} here: {{ payment_link }}</p>",
            "text_content": "Pay {{ amount }} here: {{ payment_link }}",
        },
    )
    agent = await tenant.agent(mode="conversation")
    call = await concluded(tenant, PAYMENT_LINK, agent["id"])
    assert tools(call) == ["verify_identity", "send_payment_link", "end_call"]
    assert call["outcome"] == "acknowledged"
    emails = await tenant.ok("GET", "/v1/emails", params={"callout_id": call["callout_id"]})
    [email] = emails["data"]
    assert "jane@example.com" in str(email)
