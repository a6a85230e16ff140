"""Calls through Twilio, end to end: the worker dials a local Twilio (tests/telephony/
fake_twilio.py), which checks every request and calls the app back, signed, as Twilio does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from credira.auth.permissions import ALL_PERMISSIONS
from credira.channel.voice.port import CallRequest
from tests.support import Api, Tenant, eventually
from tests.telephony.fake_twilio import FakeTwilio, Scenario
from tests.telephony.flows import (
    CALLER_ID,
    PUBLIC,
    call_out,
    call_row,
    settled,
    the_call,
    unhappy_endings,
)

SID = "AC" + "5" * 32
TOKEN = "9f" * 16

PHONE_RESUMED = "+14155550111"


@pytest.fixture
async def twilio(client: httpx.AsyncClient) -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(SID, TOKEN, client) as fake:
        yield fake
    assert fake.problems == []


async def twilio_tenant(api: Api, fake: FakeTwilio) -> Tenant:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {"account_sid": SID, "auth_token": TOKEN, "api_base": fake.url}
    await tenant.ok("PUT", "/v1/account/providers/twilio", json=settings)
    return tenant


def test_the_published_signature_vector_validates() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    validator = RequestValidator("12345")
    assert validator.validate(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not validator.validate(url, {**params, "Digits": "1235"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


async def test_pressing_1_is_a_promise_to_pay_whatever_order_the_callbacks_come_in(
    api: Api, twilio: FakeTwilio, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await twilio_tenant(api, twilio)
    phone = "+14155550142"
    twilio.scenarios[phone] = Scenario(digits="1", chaos=True)
    invoice, callout_id = await call_out(tenant, phone, language="en-US", voice="Polly.Joanna")
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "completed"

    call = await the_call(tenant, invoice["id"])
    [placed] = twilio.calls.values()
    assert twilio.creates == 1
    assert call["status"] == "completed"
    assert call["outcome"] == "promise_to_pay"
    assert call["provider_call_id"] == placed.sid
    assert call["duration"] == 42
    assert call["from"] == CALLER_ID
    assert "Pressed 1" in call["transcript"]
    # The menu in the agent's language and voice, after its script.
    assert 'voice="Polly.Joanna"' in placed.twiml[0]
    assert "Press 1 if you will pay" in placed.twiml[0]
    assert "noted your promise" in placed.twiml[1]
    # Every callback was answered 2xx, the repeated and late ones too, and applied once.
    assert all(200 <= status < 300 for _, status in twilio.callbacks), twilio.callbacks
    events = (await tenant.ok("GET", "/v1/events", params={"object_id": call["id"]}))["data"]
    assert [e["type"] for e in events].count("call.completed") == 1
    invoice_now = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert invoice_now["status"] == "open"
    # The recording, fetched from Twilio when first asked for, served to the account.
    assert call["call_recording_url"].endswith(f"/recordings/{call['id']}.wav")
    audio = await tenant.request("GET", call["call_recording_url"].removeprefix(PUBLIC))
    assert audio.status_code == 200
    assert audio.content.startswith(b"RIFF")
    # No log line holds the credentials.
    logged = capsys.readouterr()
    assert "http.request" in logged.out
    assert TOKEN not in logged.out + logged.err


async def test_unhappy_endings_are_retried_later(api: Api, twilio: FakeTwilio) -> None:
    tenant = await twilio_tenant(api, twilio)
    scenarios = {
        "+14155550171": (Scenario(ending="busy"), "busy"),
        "+14155550172": (Scenario(ending="no-answer"), "no_answer"),
        "+14155550173": (Scenario(ending="failed"), "failed"),
        "+14155550174": (Scenario(ending="canceled"), "cancelled"),
        "+14155550175": (Scenario(answered_by="machine_end_beep", digits=None), "voicemail"),
    }
    twilio.scenarios.update({phone: scenario for phone, (scenario, _) in scenarios.items()})
    await unhappy_endings(tenant, {phone: status for phone, (_, status) in scenarios.items()})
    [voicemail] = [c for c in twilio.calls.values() if c.to == "+14155550175"]
    assert "<Gather" not in voicemail.twiml[0]
    assert "call us back" in voicemail.twiml[0]


@pytest.mark.provider_timeout(0.5)
async def test_dial_whose_answer_times_out_is_found_not_dialled_again(
    api: Api, twilio: FakeTwilio
) -> None:
    tenant = await twilio_tenant(api, twilio)
    phone = "+14155550188"
    twilio.scenarios[phone] = Scenario(digits="2")
    twilio.create_delay = 1.5  # past the adapter's 0.5 s: the call is placed, the answer lost
    invoice, callout_id = await call_out(tenant, phone)
    callout = await settled(tenant, callout_id)
    assert twilio.creates == 1
    call = await the_call(tenant, invoice["id"])
    [placed] = twilio.calls.values()
    assert call["provider_call_id"] == placed.sid
    assert call["outcome"] == "dispute"
    assert callout["status"] == "completed"
    invoice_now = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert invoice_now["status"] == "disputed"


@pytest.mark.provider_timeout(0.5)  # its waits between tries are in timeouts
async def test_twilio_down_leaves_the_callout_scheduled_for_a_retry(
    api: Api, twilio: FakeTwilio
) -> None:
    tenant = await twilio_tenant(api, twilio)
    twilio.create_refusal = 503
    _, callout_id = await call_out(tenant, "+14155550199")
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "scheduled"
    assert callout["hold_reason"] == "retry_after_failed"
    assert twilio.creates == 0


async def test_a_call_whose_callbacks_never_come_is_followed_by_polling(
    api: Api, twilio: FakeTwilio
) -> None:
    tenant = await twilio_tenant(api, twilio)
    phone = "+14155550166"
    twilio.scenarios[phone] = Scenario(silent=True, digits="9")
    invoice, callout_id = await call_out(tenant, phone)
    await settled(tenant, callout_id)
    call = await the_call(tenant, invoice["id"])
    assert call["status"] == "completed"
    assert call["cost"] is not None


async def test_forged_unsigned_or_foreign_callbacks_change_nothing(
    api: Api, twilio: FakeTwilio, client: httpx.AsyncClient
) -> None:
    tenant = await twilio_tenant(api, twilio)
    phone = "+14155550155"
    twilio.scenarios[phone] = Scenario(digits="3")
    invoice, callout_id = await call_out(tenant, phone)
    await settled(tenant, callout_id)
    call = await the_call(tenant, invoice["id"])
    url = f"http://testserver/hooks/twilio/calls/{call['id']}/status"
    params = {
        "AccountSid": SID,
        "CallSid": call["provider_call_id"],
        "CallStatus": "failed",
    }
    good = RequestValidator(TOKEN).compute_signature(url, params)
    forged = RequestValidator("not-the-token").compute_signature(url, params)
    tampered = {**params, "CallStatus": "busy"}
    for body, headers in (
        (params, {}),
        (params, {"X-Twilio-Signature": forged}),
        (tampered, {"X-Twilio-Signature": good}),
    ):
        reply = await client.post(url, data=body, headers=headers)
        assert reply.status_code == 403, reply.text
    unknown = await client.post(
        "http://testserver/hooks/twilio/calls/call_unknown/status",
        data=params,
        headers={"X-Twilio-Signature": good},
    )
    assert unknown.status_code == 404
    # A genuine late report of a final call is answered, and changes nothing either.
    late = await client.post(url, data=params, headers={"X-Twilio-Signature": good})
    assert late.status_code == 204
    assert (await the_call(tenant, invoice["id"]))["status"] == call["status"] == "completed"


@pytest.mark.provider_timeout(0.5)
async def test_a_dial_cut_off_mid_request_is_found_when_the_attempt_resumes(
    app: FastAPI, api: Api, twilio: FakeTwilio
) -> None:
    """The worker dies after Twilio placed the call and before it heard the call's sid: the
    worker taking the attempt over finds that call instead of dialling again."""
    tenant = await twilio_tenant(api, twilio)
    call_id = await call_row(tenant, PHONE_RESUMED)
    adapter = app.state.runtime.voice.get("twilio")
    request = CallRequest(
        idempotency_key=f"{call_id}:dial",
        to_number=PHONE_RESUMED,
        from_number=CALLER_ID,
        script="Hello.",
        language="en-US",
        voice="default",
        max_duration=120,
        metadata={"account_id": tenant.account_id, "call_id": call_id},
    )
    twilio.create_delay = 1.0
    dialling = asyncio.create_task(adapter.start_call(request))
    await asyncio.wait_for(twilio.placed.wait(), 10)
    dialling.cancel()  # the worker dies while Twilio is answering
    with pytest.raises(asyncio.CancelledError):
        await dialling
    twilio.create_delay = 0.0
    found = await adapter.start_call(request)
    again = await adapter.start_call(request)
    [placed] = twilio.calls.values()
    assert found == again == placed.sid
    assert twilio.creates == 1


async def test_the_accounts_limit_of_calls_at_once_holds_the_next_dial(
    api: Api, twilio: FakeTwilio
) -> None:
    tenant = await twilio_tenant(api, twilio)
    limit = {"max_concurrent_calls": 1, "calls_per_second": 5}
    shown = (await tenant.ok("PUT", "/v1/account/providers/twilio", json=limit))["data"]
    assert (shown["max_concurrent_calls"], shown["calls_per_second"]) == (1, 5)
    phones = ("+14155550131", "+14155550132")
    started = [await call_out(tenant, phone) for phone in phones]
    for _, callout_id in started:

        async def completed(callout_id: str = callout_id) -> bool:
            data = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
            return bool(data["status"] == "completed")

        await eventually(completed, within=20)
    assert twilio.creates == 2
    assert twilio.peak == 1
    held = await tenant.ok("GET", "/v1/events", params={"type": "callout.held"})
    reasons = {event["data"].get("hold_reason") for event in held["data"]}
    assert "provider_busy: 1 calls in progress" in reasons
