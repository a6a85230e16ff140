"""Calls through Vapi, end to end: the worker dials a local Vapi (tests/telephony/
fake_vapi.py), whose assistant holds the conversation and posts its server messages back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from credira.auth.permissions import ALL_PERMISSIONS
from tests.support import Api, Tenant
from tests.telephony.fake_vapi import HOOK, FakeVapi, Scenario
from tests.telephony.flows import (
    CALLER_ID,
    PUBLIC,
    call_out,
    settled,
    the_call,
    unhappy_endings,
)

API_KEY = "vapi-" + "3" * 32
PHONE_NUMBER = "6a1f3c9e-0000-4000-8000-00000000abcd"
SECRET = "whsec-" + "s" * 26


@pytest.fixture
async def vapi(client: httpx.AsyncClient) -> AsyncIterator[FakeVapi]:
    async with FakeVapi(API_KEY, PHONE_NUMBER, SECRET, client) as fake:
        yield fake
    assert fake.problems == []


async def vapi_tenant(api: Api, fake: FakeVapi) -> Tenant:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {
        "api_key": API_KEY,
        "phone_number_id": PHONE_NUMBER,
        "webhook_secret": SECRET,
        "api_base": fake.url,
    }
    await tenant.ok("PUT", "/v1/account/providers/vapi", json=settings)
    return tenant


async def test_vapis_assistant_gets_a_dispute_read_into_our_outcome(
    api: Api, vapi: FakeVapi
) -> None:
    tenant = await vapi_tenant(api, vapi)
    phone = "+14155550145"
    vapi.scenarios[phone] = Scenario(chaos=True)
    invoice, callout_id = await call_out(tenant, phone, provider="vapi")
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "completed"
    call = await the_call(tenant, invoice["id"])
    [placed] = vapi.calls.values()
    assert vapi.creates == 1
    assert call["provider_call_id"] == placed.id
    assert (call["status"], call["outcome"], call["from"]) == ("completed", "dispute", CALLER_ID)
    assert call["cost"] == 0.12
    assert "I dispute this invoice" in call["transcript"]
    assistant = placed.body["assistant"]
    assert assistant["firstMessage"].startswith("Hello John Doe")
    assert invoice["number"] in assistant["model"]["messages"][0]["content"]
    assert all(200 <= status < 300 for _, status in vapi.messages), vapi.messages
    events = (await tenant.ok("GET", "/v1/events", params={"object_id": call["id"]}))["data"]
    assert [e["type"] for e in events].count("call.completed") == 1
    invoice_now = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert invoice_now["status"] == "disputed"
    audio = await tenant.request("GET", call["call_recording_url"].removeprefix(PUBLIC))
    assert audio.status_code == 200


async def test_unhappy_vapi_endings_are_retried_later(api: Api, vapi: FakeVapi) -> None:
    tenant = await vapi_tenant(api, vapi)
    endings = {
        "+14155550161": ("customer-busy", "busy"),
        "+14155550162": ("customer-did-not-answer", "no_answer"),
        "+14155550163": ("voicemail", "voicemail"),
        "+14155550164": ("twilio-failed-to-connect-call", "failed"),
        "+14155550165": ("manually-canceled", "cancelled"),
    }
    vapi.scenarios.update(
        {phone: Scenario(reason=reason) for phone, (reason, _) in endings.items()}
    )
    await unhappy_endings(
        tenant, {phone: status for phone, (_, status) in endings.items()}, provider="vapi"
    )


async def test_vapi_down_leaves_the_callout_scheduled_for_a_retry(api: Api, vapi: FakeVapi) -> None:
    tenant = await vapi_tenant(api, vapi)
    vapi.create_refusal = 400
    _, callout_id = await call_out(tenant, "+14155550196", provider="vapi")
    callout = await settled(tenant, callout_id)
    assert (callout["status"], callout["hold_reason"]) == ("scheduled", "retry_after_failed")


async def test_messages_without_the_secret_change_nothing(
    api: Api, vapi: FakeVapi, client: httpx.AsyncClient
) -> None:
    tenant = await vapi_tenant(api, vapi)
    phone = "+14155550158"
    vapi.scenarios[phone] = Scenario()
    invoice, callout_id = await call_out(tenant, phone, provider="vapi")
    await settled(tenant, callout_id)
    call = await the_call(tenant, invoice["id"])
    [placed] = vapi.calls.values()
    message: dict[str, Any] = {
        "type": "end-of-call-report",
        "endedReason": "customer-busy",
        "artifact": {},
        "call": {"id": placed.id, "assistant": placed.body["assistant"]},
    }
    body = json.dumps({"message": message})
    for headers in ({}, {"X-Vapi-Secret": "whsec-guess"}, {"X-Vapi-Secret": SECRET + "x"}):
        reply = await client.post(HOOK, content=body, headers=headers)
        assert reply.status_code == 403, reply.text
    assert await vapi.post(message) == 204  # genuine, and late: the call stays as it ended
    assert (await the_call(tenant, invoice["id"]))["status"] == call["status"] == "completed"
