"""Answered calls analysed by an LLM in the worker: the app's embedded worker, the simulator's
debtor who disputes the invoice (numbers ending 06), and a local OpenAI-compatible server as
CREDIRA_LLM_URL. The LLM's checked answer decides the call's outcome and its effects, the call
says ``analysis_source: "llm"``; an answer failing its checks leaves the rules' analysis
(``"rules"``; without an LLM too: tests/call/test_call_documented.py). On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.llm.conftest import KEY
from tests.llm.fake_openai import FakeOpenAI, Reply, structured
from tests.support import Api, Tenant, eventually, zone_in_calling_hours

pytestmark = pytest.mark.asyncio(loop_scope="module")


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


async def test_an_llm_answer_failing_its_checks_leaves_the_rules_analysis(
    api: Api, llm_server: FakeOpenAI
) -> None:
    # Every failure of the LLM (5xx, 429, timeouts, malformed answers...) ends the same way:
    # tests/llm/test_analysis.py has each.
    llm_server.responder = fails_schema
    tenant, invoice, _, call = await called(api)

    assert call["analysis_source"] == "rules"
    assert call["outcome"] == "dispute"  # what the rules read in the 06 debtor's words
    assert await event_types(tenant, invoice["id"]) == ["invoice.created", "invoice.disputed"]
    assert len(llm_server.requests) == 1  # a bad answer is not asked again


def dispute(body: dict[str, Any]) -> Reply:
    return structured(
        {
            "outcome": "dispute",
            "promise": None,
            "dispute_reason": "not_owed",
            "callback_at": None,
            "opt_out": False,
            "summary": "The debtor said the debt is not theirs.",
            "sentiment": "negative",
            "confidence": 0.95,
        }
    )


async def test_what_our_agent_recorded_wins_over_the_llms_reading(
    api: Api, llm_server: FakeOpenAI
) -> None:
    # Our own agent on the simulator (the 05 debtor promises; the agent records it through
    # record_promise); the LLM reads the transcript as a dispute.
    llm_server.responder = dispute
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        customer={
            "name": "Jane Doe",
            "phone": "+14155550105",
            "email": "jane@example.com",
            "timezone": zone_in_calling_hours(),
        }
    )
    agent = await tenant.agent(mode="conversation")
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    made = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    async def done() -> bool:
        data = (await tenant.ok("GET", f"/v1/callouts/{made['id']}"))["data"]
        return data["status"] in ("completed", "failed", "cancelled")

    await eventually(done, within=20)
    [listed] = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    call = (await tenant.ok("GET", f"/v1/calls/{listed['id']}"))["data"]

    assert len(llm_server.requests) == 1  # the LLM analysed the call...
    assert call["analysis_source"] == "llm"
    assert call["outcome"] == "promise_to_pay"  # ...and the agent's record won
    assert call["metadata"]["conversation"]["outcome"] == "promise_to_pay"
    shown = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert shown["status"] == "open"
    assert shown["promised_date"] is not None
