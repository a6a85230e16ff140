"""The LLM analyses the answered calls of the real providers too: a Twilio keypad menu and a
Vapi assistant, each a local fake of the provider, with a local OpenAI-compatible server as
CREDIRA_LLM_URL. Whatever the provider's transcript, the LLM's checked reading is the call's
outcome (here a callback request, which neither debtor's words hold for the rules)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr

from credira.auth.permissions import ALL_PERMISSIONS
from credira.config import Settings
from tests.llm.conftest import KEY
from tests.llm.fake_openai import FakeOpenAI, Reply, structured
from tests.support import Api, worker_app_settings
from tests.telephony import fake_twilio, fake_vapi
from tests.telephony.flows import PUBLIC, call_out, settled, the_call

SID = "AC" + "7" * 32
TOKEN = "8e" * 16
VAPI_KEY = "vapi-" + "4" * 32
VAPI_NUMBER = "6a1f3c9e-0000-4000-8000-00000000beef"
VAPI_SECRET = "whsec-" + "t" * 26


# An app of its own per test (the provider fakes call it back): the root conftest's ``app``
# on ``settings``, with a local OpenAI-compatible server of the test's own.


@pytest_asyncio.fixture
async def llm_server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, llm_server: FakeOpenAI) -> Settings:
    overrides = {
        "worker_analysis_processes": 0,
        "provider_timeout_seconds": 0.5,
        "provider_poll_seconds": 0.5,
        "llm_url": llm_server.url,
        "llm_model": "llama3.2",
        "llm_api_key": SecretStr(KEY),
    }
    return worker_app_settings(database_url, tmp_path / "data").model_copy(update=overrides)


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


def callback_tomorrow_at_three(body: dict[str, Any]) -> Reply:
    """The LLM reads a callback request for 15:00 the day after the call, debtor's time."""
    first_line = body["messages"][1]["content"].split("\n", 1)[0]
    ended = datetime.fromisoformat(
        json.loads(first_line.removeprefix("Facts: "))["call_ended_local"]
    )
    at = (ended + timedelta(days=1)).replace(hour=15, minute=0)
    return structured(
        {
            "outcome": "callback_requested",
            "promise": None,
            "dispute_reason": None,
            "callback_at": at.isoformat(),
            "opt_out": False,
            "summary": "The debtor asked to be called back tomorrow afternoon.",
            "sentiment": "neutral",
            "confidence": 0.7,
        }
    )


@pytest.fixture
async def twilio(client: httpx.AsyncClient) -> AsyncIterator[fake_twilio.FakeTwilio]:
    async with fake_twilio.FakeTwilio(SID, TOKEN, client) as fake:
        yield fake
    assert fake.problems == []


@pytest.fixture
async def vapi(client: httpx.AsyncClient) -> AsyncIterator[fake_vapi.FakeVapi]:
    async with fake_vapi.FakeVapi(VAPI_KEY, VAPI_NUMBER, VAPI_SECRET, client) as fake:
        yield fake
    assert fake.problems == []


async def follow_up_of(tenant: Any, invoice_id: str, called: str) -> dict[str, Any]:
    listed = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice_id})
    [follow_up] = [c for c in listed["data"] if c["id"] != called]
    result: dict[str, Any] = follow_up
    return result


async def test_a_keypad_menus_call_is_read_by_the_llm(
    api: Api, twilio: fake_twilio.FakeTwilio, llm_server: FakeOpenAI
) -> None:
    llm_server.responder = callback_tomorrow_at_three
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {"account_sid": SID, "auth_token": TOKEN, "api_base": twilio.url}
    await tenant.ok("PUT", "/v1/account/providers/twilio", json=settings)
    phone = "+14155550172"
    twilio.scenarios[phone] = fake_twilio.Scenario(digits="2")  # 2: a dispute, for the rules
    invoice, callout_id = await call_out(tenant, phone)
    assert (await settled(tenant, callout_id))["status"] == "completed"

    call = await the_call(tenant, invoice["id"])
    assert (call["outcome"], call["analysis_source"]) == ("callback_requested", "llm")
    assert "Pressed 2" in llm_server.requests[0].body["messages"][1]["content"]
    follow_up = await follow_up_of(tenant, invoice["id"], callout_id)
    assert follow_up["type"] == "follow_up"
    shown = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert shown["status"] == "open"  # not disputed: the LLM's reading won


async def test_a_vapi_assistants_call_is_read_by_the_llm(
    api: Api, vapi: fake_vapi.FakeVapi, llm_server: FakeOpenAI
) -> None:
    llm_server.responder = callback_tomorrow_at_three
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    settings = {
        "api_key": VAPI_KEY,
        "phone_number_id": VAPI_NUMBER,
        "webhook_secret": VAPI_SECRET,
        "api_base": vapi.url,
    }
    await tenant.ok("PUT", "/v1/account/providers/vapi", json=settings)
    phone = "+14155550173"
    vapi.scenarios[phone] = fake_vapi.Scenario()  # the debtor disputes the invoice
    invoice, callout_id = await call_out(tenant, phone, provider="vapi")
    assert (await settled(tenant, callout_id))["status"] == "completed"

    call = await the_call(tenant, invoice["id"])
    assert (call["outcome"], call["analysis_source"]) == ("callback_requested", "llm")
    assert "I dispute this invoice" in llm_server.requests[0].body["messages"][1]["content"]
    assert (await follow_up_of(tenant, invoice["id"], callout_id))["type"] == "follow_up"
