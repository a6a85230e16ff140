"""A conversation agent's call through Telnyx, end to end: once detection finds a person, the
adapter starts Conversation Relay on the call, the local Telnyx opens the relay socket on the
app (served for real) and the scripted debtor talks to our agent; when the relay ends the
call is hung up, and its outcome is what the agent recorded. A socket whose token is not the
one issued for that attempt is refused (Telnyx signs no handshake: the token is its
credential)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import websockets
from fastapi import FastAPI

from credira.auth.permissions import ALL_PERMISSIONS
from credira.conversation.debtor import PERSONAS
from credira.conversation.relay import sign_token
from tests.support import Api, Tenant
from tests.telephony.fake_telnyx import FakeTelnyx, Scenario
from tests.telephony.flows import call_out, settled, the_call
from tests.telephony.local_server import LocalServer

API_KEY = "KEYRELAY0123456789_" + "y" * 12
CONNECTION = "1494404757140276799"


class Served(LocalServer):
    def __init__(self, app: FastAPI) -> None:
        super().__init__()
        self.app = app


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[Served]:
    async with Served(app) as server:
        yield server


@pytest.fixture
async def telnyx(client: httpx.AsyncClient, served: Served) -> AsyncIterator[FakeTelnyx]:
    async with FakeTelnyx(API_KEY, CONNECTION, client) as fake:
        fake.relay_to = f"ws://127.0.0.1:{served.port}"
        yield fake
    assert fake.problems == []


async def tenant_of(api: Api, fake: FakeTelnyx) -> Tenant:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {
        "api_key": API_KEY,
        "connection_id": CONNECTION,
        "public_key": fake.public_key,
        "api_base": fake.url,
    }
    await tenant.ok("PUT", "/v1/account/providers/telnyx", json=settings)
    return tenant


async def test_our_agent_holds_a_telnyx_call_over_conversation_relay(
    api: Api, telnyx: FakeTelnyx, served: Served
) -> None:
    tenant = await tenant_of(api, telnyx)
    phone = "+14155550181"
    telnyx.scenarios[phone] = Scenario(debtor=PERSONAS["dispute"], digits=None)
    invoice, callout_id = await call_out(tenant, phone, provider="telnyx", mode="conversation")
    assert (await settled(tenant, callout_id))["status"] == "completed"

    [placed] = telnyx.calls.values()
    actions = [action for action, _ in placed.commands]
    assert actions == ["conversation_relay_start", "hangup"]
    url = placed.commands[0][1]["conversation_relay_url"]
    assert url.startswith("ws://testserver/hooks/telnyx/relay/call_")
    heard = telnyx.relayed[placed.call_control_id]
    assert heard[0]["token"].startswith("Hello, this call is recorded.")
    assert heard[-1]["type"] == "end"

    call = await the_call(tenant, invoice["id"])
    assert call["outcome"] == "dispute"
    assert "Debtor: I don't owe this" in call["transcript"]
    shown = await tenant.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert shown["data"]["status"] == "disputed"

    # The socket of a finished call, or one with a token not issued for an attempt, is refused.
    for token in (url.rsplit("/", 1)[1], sign_token(call["id"], "another key", datetime.now(UTC))):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(
                f"ws://127.0.0.1:{served.port}/hooks/telnyx/relay/{token}"
            ):
                pass
        assert refused.value.response.status_code == 403
