"""A conversation agent's calls through Twilio, end to end: the local Twilio fetches the
TwiML, finds ``<Connect><ConversationRelay>``, opens the relay socket on the app (served for
real, as Twilio reaches it) signed as Twilio signs it, and the scripted debtor talks to our
agent; the call's outcome is what the agent recorded. A handshake that is unsigned, forged,
for another attempt, expired, or whose setup names another call is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from credira.auth.permissions import ALL_PERMISSIONS
from credira.conversation.debtor import PERSONAS
from credira.conversation.relay import relay_url, sign_token
from credira.models import ProviderCall
from tests.support import Api, Tenant
from tests.telephony.fake_twilio import FakeTwilio, Scenario
from tests.telephony.flows import PUBLIC, call_out, settled, the_call
from tests.telephony.local_server import LocalServer

SID = "AC" + "7" * 32
TOKEN = "7e" * 16


class Served(LocalServer):
    """The test's app on a loopback port (its lifespan already runs), for sockets."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__()
        self.app = app


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[Served]:
    async with Served(app) as server:
        yield server


@pytest.fixture
async def twilio(client: httpx.AsyncClient, served: Served) -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(SID, TOKEN, client) as fake:
        fake.relay_to = f"ws://127.0.0.1:{served.port}"
        yield fake
    assert fake.problems == []


async def tenant_of(api: Api, fake: FakeTwilio) -> Tenant:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {"account_sid": SID, "auth_token": TOKEN, "api_base": fake.url}
    await tenant.ok("PUT", "/v1/account/providers/twilio", json=settings)
    return tenant


async def test_our_agent_holds_the_call_over_conversation_relay(
    api: Api, twilio: FakeTwilio
) -> None:
    tenant = await tenant_of(api, twilio)
    phone = "+14155550171"
    twilio.scenarios[phone] = Scenario(debtor=PERSONAS["cooperative"], digits=None)
    invoice, callout_id = await call_out(tenant, phone, mode="conversation")
    assert (await settled(tenant, callout_id))["status"] == "completed"

    [placed] = twilio.calls.values()
    [twiml] = placed.twiml
    assert "<Connect><ConversationRelay " in twiml
    assert f'url="{PUBLIC.replace("http", "ws")}/hooks/twilio/relay/' in twiml
    heard = twilio.relayed[placed.sid]
    assert heard[0]["token"].startswith("Hello, this call is recorded.")
    assert heard[-1]["type"] == "end"
    assert json.loads(heard[-1]["handoffData"])["outcome"] == "promise_to_pay"

    call = await the_call(tenant, invoice["id"])
    assert call["outcome"] == "promise_to_pay"
    assert "Debtor: Sure, I'll pay the full amount on Friday." in call["transcript"]
    tools = [
        line["name"]
        for line in call["metadata"]["conversation"]["lines"]
        if line["type"] == "tool" and line["accepted"]
    ]
    assert tools == ["verify_identity", "record_promise", "end_call"]
    shown = await tenant.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert shown["data"]["promised_date"] is not None


async def waiting_call(api: Api, twilio: FakeTwilio) -> tuple[str, str]:
    """A conversation agent's answered call whose socket never opened: (call id, its sid)."""
    tenant = await tenant_of(api, twilio)
    phone = "+14155550172"
    twilio.scenarios[phone] = Scenario(debtor=None, digits=None)
    invoice, callout_id = await call_out(tenant, phone, mode="conversation")
    await settled(tenant, callout_id)
    [placed] = twilio.calls.values()
    app = tenant.api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.runtime.sessionmaker() as session:
        listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
        call_id = listed["data"][0]["id"]
        from credira.channel.voice import provider_call_repository as rows

        row: ProviderCall | None = await rows.by_call_id(session, "twilio", call_id)
        assert row is not None
        assert row.conversation is not None
    return call_id, placed.sid


async def opened(
    served: Served, token: str, signature: str | None, setup: dict[str, Any]
) -> list[dict[str, Any]] | int:
    """The frames the app sent after the setup frame, or the HTTP status refusing the
    handshake, or the close code refusing the setup."""
    url = relay_url(PUBLIC, token)
    local = f"ws://127.0.0.1:{served.port}/hooks/twilio/relay/{token}"
    headers = {"X-Twilio-Signature": signature} if signature else {}
    try:
        async with websockets.connect(local, additional_headers=headers) as socket:
            await socket.send(json.dumps({"type": "setup", **setup}))
            frames: list[dict[str, Any]] = []
            try:
                frames.append(json.loads(await socket.recv()))
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006
            return frames
    except websockets.InvalidStatus as refused:
        assert url  # the URL the signature is over
        return refused.response.status_code


async def test_a_handshake_that_is_not_twilios_for_this_attempt_is_refused(
    api: Api, twilio: FakeTwilio, served: Served
) -> None:
    call_id, sid = await waiting_call(api, twilio)
    now = datetime.now(UTC)
    token = sign_token(call_id, TOKEN, now)

    def signed(t: str, secret: str = TOKEN) -> str:
        return RequestValidator(secret).compute_signature(relay_url(PUBLIC, t), {})

    setup = {"callSid": sid, "accountSid": SID}
    # Unsigned, signed with another auth token, or a signature over another URL.
    assert await opened(served, token, None, setup) == 403
    assert await opened(served, token, signed(token, "another-auth-token"), setup) == 403
    assert await opened(served, token, signed(token + "x"), setup) == 403
    # A token for another attempt, forged, or expired, even signed by Twilio.
    other = sign_token("call_someoneelse", TOKEN, now)
    assert await opened(served, other, signed(other), setup) == 403
    forged = f"{call_id}.{int((now + timedelta(minutes=5)).timestamp())}.AAAA"
    assert await opened(served, forged, signed(forged), setup) == 403
    expired = sign_token(call_id, TOKEN, now - timedelta(minutes=10))
    assert await opened(served, expired, signed(expired), setup) == 403
    # Twilio's handshake, but the setup names another call.
    assert await opened(served, token, signed(token), {**setup, "callSid": "CAother"}) == 1008
    # Twilio's handshake for this attempt: the agent speaks first, its recording notice.
    frames = await opened(served, token, signed(token), setup)
    assert isinstance(frames, list)
    assert frames[0]["token"].startswith("Hello, this call is recorded.")
