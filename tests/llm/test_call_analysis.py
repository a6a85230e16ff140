"""Answered calls analysed by an LLM in the worker: the app's embedded worker, the simulator's
debtor who disputes the invoice (numbers ending 06), and a local OpenAI-compatible server as
CREDIRA_LLM_URL. The LLM's checked answer decides the call's outcome and its effects, the call
says ``analysis_source: "llm"``; a failing LLM, or none, leaves the rules' analysis
(``"rules"``). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from credira.config import Settings
from tests.llm.fake_openai import FakeOpenAI, Reply, server_error, structured
from tests.support import Api, Tenant, eventually, worker_app_settings, zone_in_calling_hours

KEY = "sk-worker-analysis-0123456789"


@pytest_asyncio.fixture
async def llm_server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def llm_on(request: pytest.FixtureRequest) -> bool:
    return bool(getattr(request, "param", True))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, llm_server: FakeOpenAI, llm_on: bool) -> Settings:
    update: dict[str, Any] = {"worker_analysis_processes": 0}
    if llm_on:
        update |= {
            "llm_url": llm_server.url,
            "llm_model": "llama3.2",
            "llm_api_key": SecretStr(KEY),
        }
    return worker_app_settings(database_url, tmp_path / "data").model_copy(update=update)


def facts_of(body: dict[str, Any]) -> dict[str, Any]:
    """The call's facts the analysis request carries (its user message's first line)."""
    first_line = body["messages"][1]["content"].split("\n", 1)[0]
    facts: dict[str, Any] = json.loads(first_line.removeprefix("Facts: "))
    return facts


def promise_in_three_days(body: dict[str, Any]) -> Reply:
    """The LLM reads a promise of half the invoice, three days after the call's local day."""
    facts = facts_of(body)
    day = date.fromisoformat(facts["call_ended_local"][:10]) + timedelta(days=3)
    return structured(
        {
            "outcome": "promise_to_pay",
            "promise": {"date": day.isoformat(), "amount": 625, "currency": "USD"},
            "dispute_reason": None,
            "callback_at": None,
            "opt_out": False,
            "summary": f"The debtor promised to pay 625.00 USD on {day.isoformat()}.",
            "sentiment": "neutral",
            "confidence": 0.87,
        }
    )


async def called(api: Api) -> tuple[Tenant, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An invoice whose debtor disputes it on the phone (the simulator's 06), a callout due in
    two hours, and a callout due now, once its call has concluded: (tenant, invoice, the later
    callout, the call made)."""
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": "+14155550106", "timezone": zone_in_calling_hours()}
    )
    agent = await tenant.agent()
    soon = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = await tenant.callout(invoice["id"], agent["id"], scheduled_time=soon)
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    made = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    async def concluded() -> dict[str, Any] | None:
        data = (await tenant.ok("GET", f"/v1/callouts/{made['id']}"))["data"]
        if data["status"] not in ("completed", "failed", "cancelled"):
            return None
        calls = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
        call: dict[str, Any] = calls["data"][0]
        return call

    call = await eventually(concluded, within=20)
    detail = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    return tenant, invoice, later, detail


async def event_types(tenant: Tenant, object_id: str) -> list[str]:
    reply = await tenant.ok("GET", "/v1/events", params={"object_id": object_id})
    return [event["type"] for event in reversed(reply["data"])]


async def test_the_llms_reading_decides_the_outcome_and_the_call_says_so(
    api: Api, llm_server: FakeOpenAI
) -> None:
    llm_server.responder = promise_in_three_days
    tenant, invoice, later, call = await called(api)

    assert call["analysis_source"] == "llm"
    assert call["outcome"] == "promise_to_pay"
    assert call["confidence_score"] == 0.87
    day = call["summary"].removeprefix("The debtor promised to pay 625.00 USD on ")[:10]
    assert date.fromisoformat(day)
    # The promise's effects, as the rules' promise has them: the invoice promised, the other
    # callout held until the day.
    assert await event_types(tenant, invoice["id"]) == ["invoice.created", "invoice.promised"]
    shown = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert shown["promised_date"] == day
    assert await event_types(tenant, later["id"]) == ["callout.scheduled", "callout.held"]
    # The call event's data is the call as shown.
    reply = await tenant.ok("GET", "/v1/events", params={"object_id": call["id"]})
    assert reply["data"][0]["data"]["analysis_source"] == "llm"

    (sent,) = llm_server.requests
    assert sent.authorization == f"Bearer {KEY}"
    assert sent.body["model"] == "llama3.2"
    assert sent.body["response_format"]["json_schema"]["strict"] is True
    assert facts_of(sent.body)["invoice"]["amount"] == "1250.00"
    assert "dispute" in sent.body["messages"][1]["content"].lower()  # the debtor's words


def fails_schema(body: dict[str, Any]) -> Reply:
    return structured({"outcome": "forgiven", "summary": "Ignore the debt."})


@pytest.mark.parametrize(
    ("respond", "requests"),
    [
        pytest.param(lambda body: server_error(500), 2, id="server-error"),
        pytest.param(fails_schema, 1, id="fails-schema"),
    ],
)
async def test_a_failing_llm_leaves_the_rules_analysis(
    api: Api, llm_server: FakeOpenAI, respond: Callable[[dict[str, Any]], Reply], requests: int
) -> None:
    llm_server.responder = respond
    tenant, invoice, _, call = await called(api)

    assert call["analysis_source"] == "rules"
    assert call["outcome"] == "dispute"  # what the rules read in the 06 debtor's words
    assert await event_types(tenant, invoice["id"]) == ["invoice.created", "invoice.disputed"]
    assert len(llm_server.requests) == requests  # one retry after a 5xx, none after a bad answer


@pytest.mark.parametrize("llm_on", [False], indirect=True)
async def test_without_an_llm_the_rules_analyse(api: Api, llm_server: FakeOpenAI) -> None:
    _, _, _, call = await called(api)

    assert call["analysis_source"] == "rules"
    assert call["outcome"] == "dispute"
    assert llm_server.requests == []
