"""Calls through Telnyx Call Control, end to end: the worker dials a local Telnyx
(tests/telephony/fake_telnyx.py), which drives the call from our commands and signs its
webhooks with Ed25519."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from credira.auth.permissions import ALL_PERMISSIONS
from credira.channel.voice.telnyx import client_state, verify
from tests.support import Api, Tenant
from tests.telephony.fake_telnyx import HOOK, FakeTelnyx, Scenario
from tests.telephony.flows import CALLER_ID, PUBLIC, call_out, settled, the_call, unhappy_endings

API_KEY = "KEY0123456789ABCDEF_" + "x" * 12
CONNECTION = "1494404757140276705"


@pytest.fixture
async def telnyx(client: httpx.AsyncClient) -> AsyncIterator[FakeTelnyx]:
    async with FakeTelnyx(API_KEY, CONNECTION, client) as fake:
        yield fake
    assert fake.problems == []


async def telnyx_tenant(api: Api, fake: FakeTelnyx) -> Tenant:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {
        "api_key": API_KEY,
        "connection_id": CONNECTION,
        "public_key": fake.public_key,
        "api_base": fake.url,
    }
    await tenant.ok("PUT", "/v1/account/providers/telnyx", json=settings)
    return tenant


def test_a_signature_verifies_only_unchanged_and_fresh() -> None:
    fake = FakeTelnyx(API_KEY, CONNECTION, httpx.AsyncClient())
    body = json.dumps({"data": {"event_type": "call.hangup"}})
    now = int(time.time())
    headers = fake.sign(body, now)
    signature, stamp = headers["telnyx-signature-ed25519"], headers["telnyx-timestamp"]
    assert verify(body.encode(), fake.public_key, signature, stamp, now)
    assert not verify(body.encode() + b" ", fake.public_key, signature, stamp, now)
    assert not verify(body.encode(), fake.public_key, signature, str(now + 1), now)
    assert not verify(body.encode(), fake.public_key, signature, stamp, now + 301)
    other = FakeTelnyx(API_KEY, CONNECTION, httpx.AsyncClient())
    assert not verify(body.encode(), other.public_key, signature, stamp, now)


async def test_pressing_1_on_telnyx_is_a_promise_whatever_order_the_webhooks_come_in(
    api: Api, telnyx: FakeTelnyx
) -> None:
    tenant = await telnyx_tenant(api, telnyx)
    phone = "+14155550144"
    telnyx.scenarios[phone] = Scenario(digits="1", chaos=True)
    invoice, callout_id = await call_out(tenant, phone, provider="telnyx", voice="AWS.Polly.Joanna")
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "completed"
    call = await the_call(tenant, invoice["id"])
    [placed] = telnyx.calls.values()
    assert telnyx.dials == 1
    assert call["provider_call_id"] == placed.call_control_id
    assert (call["status"], call["outcome"], call["from"]) == (
        "completed",
        "promise_to_pay",
        CALLER_ID,
    )
    assert call["cost"] == 0.035
    assert "Pressed 1" in call["transcript"]
    # The menu, the answer and the hang-up, each once though webhooks came twice.
    assert [action for action, _ in placed.commands] == ["gather_using_speak", "speak", "hangup"]
    menu = placed.commands[0][1]
    assert menu["voice"] == "AWS.Polly.Joanna"
    assert menu["valid_digits"] == "1239"
    assert "Press 1 if you will pay" in menu["payload"]
    assert all(200 <= status < 300 for _, status in telnyx.webhooks), telnyx.webhooks
    events = (await tenant.ok("GET", "/v1/events", params={"object_id": call["id"]}))["data"]
    assert [e["type"] for e in events].count("call.completed") == 1
    audio = await tenant.request("GET", call["call_recording_url"].removeprefix(PUBLIC))
    assert audio.status_code == 200


async def test_unhappy_telnyx_endings_are_retried_later(api: Api, telnyx: FakeTelnyx) -> None:
    tenant = await telnyx_tenant(api, telnyx)
    scenarios = {
        "+14155550181": (Scenario(cause="user_busy"), "busy"),
        "+14155550182": (Scenario(cause="timeout"), "no_answer"),
        "+14155550183": (Scenario(cause="not_found"), "failed"),
        "+14155550184": (Scenario(amd="machine"), "voicemail"),
        "+14155550185": (Scenario(cause="originator_cancel"), "cancelled"),
    }
    telnyx.scenarios.update({phone: scenario for phone, (scenario, _) in scenarios.items()})
    endings = {phone: status for phone, (_, status) in scenarios.items()}
    await unhappy_endings(tenant, endings, provider="telnyx")
    [machine] = [c for c in telnyx.calls.values() if c.body["to"] == "+14155550184"]
    assert [action for action, _ in machine.commands] == ["speak", "hangup"]


async def test_a_call_that_ends_unheard_of_ends_as_its_late_hangup_says(
    api: Api, telnyx: FakeTelnyx
) -> None:
    """Webhooks stop; the API's read says the call is over, not how: a call.hangup that comes
    after that read still decides (busy, not no answer), and one that never comes leaves the
    call as the read shows it once a poll period has passed."""
    tenant = await telnyx_tenant(api, telnyx)
    busy, lost = "+14155550191", "+14155550192"
    telnyx.scenarios[busy] = Scenario(cause="user_busy", quiet=True, late_hangup=True)
    telnyx.scenarios[lost] = Scenario(cause="user_busy", quiet=True)
    calls = await unhappy_endings(tenant, {busy: "busy", lost: "no_answer"}, provider="telnyx")
    placed = {call.body["to"]: call for call in telnyx.calls.values()}
    for phone in (busy, lost):
        assert calls[phone]["provider_call_id"] == placed[phone].call_control_id
    assert placed[busy].reads >= 1
    assert placed[lost].reads >= 2  # found over, then read again a period later
    assert [event for event, _ in telnyx.webhooks].count("call.hangup") == 1
    assert all(200 <= status < 300 for _, status in telnyx.webhooks), telnyx.webhooks


@pytest.mark.provider_timeout(0.5)
async def test_a_dial_whose_answer_times_out_is_sent_again_with_its_command_id(
    api: Api, telnyx: FakeTelnyx
) -> None:
    tenant = await telnyx_tenant(api, telnyx)
    phone = "+14155550187"
    telnyx.scenarios[phone] = Scenario(digits="2")
    telnyx.dial_delay = 1.5  # past the adapter's 0.5 s
    invoice, callout_id = await call_out(tenant, phone, provider="telnyx")
    await settled(tenant, callout_id)
    [placed] = telnyx.calls.values()
    call = await the_call(tenant, invoice["id"])
    assert call["provider_call_id"] == placed.call_control_id
    assert call["outcome"] == "dispute"


@pytest.mark.provider_timeout(0.5)  # its waits between tries are in timeouts
async def test_telnyx_down_leaves_the_callout_scheduled_for_a_retry(
    api: Api, telnyx: FakeTelnyx
) -> None:
    tenant = await telnyx_tenant(api, telnyx)
    telnyx.dial_refusal = 503
    _, callout_id = await call_out(tenant, "+14155550197", provider="telnyx")
    callout = await settled(tenant, callout_id)
    assert (callout["status"], callout["hold_reason"]) == ("scheduled", "retry_after_failed")
    assert telnyx.calls == {}


async def test_forged_old_or_unsigned_telnyx_webhooks_change_nothing(
    api: Api, telnyx: FakeTelnyx, client: httpx.AsyncClient
) -> None:
    tenant = await telnyx_tenant(api, telnyx)
    phone = "+14155550157"
    telnyx.scenarios[phone] = Scenario(digits="3")
    invoice, callout_id = await call_out(tenant, phone, provider="telnyx")
    await settled(tenant, callout_id)
    call = await the_call(tenant, invoice["id"])
    payload = {
        "call_control_id": call["provider_call_id"],
        "client_state": client_state(call["id"]),
        "hangup_cause": "user_busy",
    }
    body = json.dumps({"data": {"event_type": "call.hangup", "payload": payload}})
    impostor = FakeTelnyx(API_KEY, CONNECTION, client)
    old = int(time.time()) - 301
    for headers in (
        {},
        impostor.sign(body),
        telnyx.sign(body, old),
        {**telnyx.sign(body), "telnyx-timestamp": str(int(time.time()) - 1)},
    ):
        reply = await client.post(HOOK, content=body, headers=headers)
        assert reply.status_code == 403, reply.text
    genuine = await client.post(HOOK, content=body, headers=telnyx.sign(body))
    assert genuine.status_code == 204
    assert (await the_call(tenant, invoice["id"]))["status"] == "completed"
