"""Calls through Retell, end to end: the worker dials a local Retell (tests/telephony/
fake_retell.py), whose agent holds the conversation and posts signed webhooks back."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from credira.auth.permissions import ALL_PERMISSIONS
from credira.channel.voice.retell import sign, verify
from tests.support import Api, Tenant
from tests.telephony.fake_retell import FakeRetell, Scenario, signature
from tests.telephony.flows import CALLER_ID, PUBLIC, call_out, settled, the_call, unhappy_endings

API_KEY = "key_" + "7" * 28
AGENT = "agent_" + "a" * 24


@pytest.fixture
async def retell(client: httpx.AsyncClient) -> AsyncIterator[FakeRetell]:
    async with FakeRetell(API_KEY, AGENT, client) as fake:
        yield fake
    assert fake.problems == []


async def retell_tenant(api: Api, fake: FakeRetell) -> Tenant:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {"api_key": API_KEY, "agent_id": AGENT, "api_base": fake.url}
    await tenant.ok("PUT", "/v1/account/providers/retell", json=settings)
    return tenant


def test_our_signature_is_retells() -> None:
    body = json.dumps({"event": "call_ended", "call": {"call_id": "c1"}})
    now = int(time.time() * 1000)
    assert sign(body, API_KEY, now) == signature(body, API_KEY, now)
    assert verify(body, API_KEY, signature(body, API_KEY, now), now)
    assert not verify(body + " ", API_KEY, signature(body, API_KEY, now), now)
    assert not verify(body, "key_other", signature(body, API_KEY, now), now)
    six_minutes_ago = now - 6 * 60 * 1000
    assert not verify(body, API_KEY, signature(body, API_KEY, six_minutes_ago), now)


async def test_retells_agent_gets_a_promise_read_into_our_outcome(
    api: Api, retell: FakeRetell
) -> None:
    tenant = await retell_tenant(api, retell)
    phone = "+14155550143"
    retell.scenarios[phone] = Scenario(chaos=True)
    invoice, callout_id = await call_out(tenant, phone, provider="retell")
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "completed"
    call = await the_call(tenant, invoice["id"])
    [placed] = retell.calls.values()
    assert retell.creates == 1
    assert call["provider_call_id"] == placed.call_id
    assert call["status"] == "completed"
    assert call["outcome"] == "promise_to_pay"
    assert call["from"] == CALLER_ID
    assert call["duration"] >= 1
    assert call["cost"] == 0.085
    assert "I can pay the full amount" in call["transcript"]
    variables = placed.body["retell_llm_dynamic_variables"]
    assert variables["invoice_number"] == invoice["number"]
    assert variables["script"].startswith("Hello John Doe")
    # Every webhook answered 2xx, the repeated and late ones too, and applied once.
    assert all(200 <= status < 300 for _, status in retell.webhooks), retell.webhooks
    events = (await tenant.ok("GET", "/v1/events", params={"object_id": call["id"]}))["data"]
    assert [e["type"] for e in events].count("call.completed") == 1
    # Retell's recording links expire: kept when the call ended, served from our URL.
    audio = await tenant.request("GET", call["call_recording_url"].removeprefix(PUBLIC))
    assert audio.status_code == 200
    assert audio.content.startswith(b"RIFF")


async def test_unhappy_retell_endings_are_retried_later(api: Api, retell: FakeRetell) -> None:
    tenant = await retell_tenant(api, retell)
    endings = {
        "+14155550191": ("dial_busy", "busy"),
        "+14155550192": ("dial_no_answer", "no_answer"),
        "+14155550193": ("dial_failed", "failed"),
        "+14155550194": ("voicemail_reached", "voicemail"),
        "+14155550195": ("manual_stopped", "cancelled"),
    }
    retell.scenarios.update(
        {phone: Scenario(reason=reason) for phone, (reason, _) in endings.items()}
    )
    await unhappy_endings(
        tenant, {phone: status for phone, (_, status) in endings.items()}, provider="retell"
    )


async def test_retell_down_leaves_the_callout_scheduled_for_a_retry(
    api: Api, retell: FakeRetell
) -> None:
    tenant = await retell_tenant(api, retell)
    retell.create_refusal = 503
    _, callout_id = await call_out(tenant, "+14155550198", provider="retell")
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "scheduled"
    assert callout["hold_reason"] == "retry_after_failed"
    assert retell.calls == {}


async def test_forged_old_or_unsigned_webhooks_change_nothing(
    api: Api, retell: FakeRetell, client: httpx.AsyncClient
) -> None:
    tenant = await retell_tenant(api, retell)
    phone = "+14155550156"
    retell.scenarios[phone] = Scenario()
    invoice, callout_id = await call_out(tenant, phone, provider="retell")
    await settled(tenant, callout_id)
    call = await the_call(tenant, invoice["id"])
    forged_call: dict[str, Any] = {
        "call_id": call["provider_call_id"],
        "call_status": "ended",
        "disconnection_reason": "dial_failed",
        "metadata": {"credira_call_id": call["id"]},
    }
    body = json.dumps({"event": "call_ended", "call": forged_call})
    old = int(time.time() * 1000) - 6 * 60 * 1000
    for headers in (
        {},
        {"x-retell-signature": signature(body, "key_not_ours")},
        {"x-retell-signature": signature(body, API_KEY, old)},
        {"x-retell-signature": signature(body.replace("ended", "ongoing"), API_KEY)},
    ):
        reply = await client.post(f"{PUBLIC}/hooks/retell", content=body, headers=headers)
        assert reply.status_code == 403, reply.text
    genuine = await client.post(
        f"{PUBLIC}/hooks/retell",
        content=body,
        headers={"x-retell-signature": signature(body, API_KEY)},
    )
    assert genuine.status_code == 204  # a final call stays as it ended
    assert (await the_call(tenant, invoice["id"]))["status"] == "completed"
