"""Every scripted debtor the simulator puts on a conversation agent's line, end to end: the
callout runs on the embedded worker, the real agent loop talks to the persona of the dialled
number, and each call is checked as the evaluation suite checks its conversation (outcome,
tools, nothing of the debt before verification) and, beyond it, by the events it wrote: the
call's transitions in order, its terminal event holding the call as the API shows it, the
callout's ending and the outcome's effect on the invoice."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from tests.conversation.cases import CASES, Case
from tests.conversation.harness import context
from tests.conversation.test_evaluation import agent_lines_before_verification
from tests.support import Api, Tenant, eventually, zone_in_calling_hours

from credira.conversation.debtor import BY_DIGITS, persona_for
from credira.conversation.guard import Guard

pytestmark = pytest.mark.asyncio(loop_scope="module")

CASE_OF = {case.name: case for case in CASES}
# Every debtor of the table (09's included: the script agents' long call is no longer than
# its conversation for a conversation agent), and "acknowledge" for any number the table does
# not name (99 here).
PERSONAS = sorted([*BY_DIGITS.items(), ("99", "acknowledge")])
COMPANY = "Acme Corporation"
FINAL = ("completed", "no_answer", "busy", "failed", "voicemail", "cancelled")


async def events_of(tenant: Tenant, object_id: str) -> list[dict[str, Any]]:
    """The object's events, oldest first."""
    body = await tenant.ok("GET", "/v1/events", params={"object_id": object_id, "limit": 1000})
    return list(reversed(body["data"]))


async def place(tenant: Tenant, digits: str, agents: dict[str, str]) -> dict[str, Any]:
    """An invoice and a callout to the number ending ``digits``, by the agent of its language."""
    phone = f"+141555501{digits}"
    name = persona_for(phone)
    lang = "es-ES" if name.startswith("spanish") else "en-US"
    invoice = await tenant.invoice(
        customer={
            "name": "Jane Doe",
            "phone": phone,
            "email": "jane@example.com",
            "timezone": zone_in_calling_hours(),
        }
    )
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agents[lang]}}
    callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    return {"persona": name, "invoice": invoice, "callout": callout}


async def concluded(tenant: Tenant, placed: dict[str, Any]) -> dict[str, Any]:
    """The placed callout's call, once the callout finished, with the events written."""
    callout_id = placed["callout"]["id"]

    invoice_id = placed["invoice"]["id"]

    async def done() -> bool:
        # The call ended and the worker concluded it: the callout finished, or (nobody took
        # part in the conversation: an unanswered call) it waits for its next attempt.
        calls = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice_id}))["data"]
        data = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        return bool(calls) and calls[0]["status"] in FINAL and data["status"] != "active"

    await eventually(done, within=30)
    calls = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice_id})
    [call] = calls["data"]
    detail = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    return {
        **placed,
        "call": detail,
        "call_events": await events_of(tenant, call["id"]),
        "invoice_events": await events_of(tenant, invoice_id),
        "callout_events": await events_of(tenant, callout_id),
        "all_events": list(
            reversed(
                (
                    await tenant.ok(
                        "GET", "/v1/events", params={"invoice_id": invoice_id, "limit": 1000}
                    )
                )["data"]
            )
        ),
    }


def accepted_tools(call: dict[str, Any]) -> list[str]:
    lines = call["metadata"]["conversation"]["lines"]
    return [line["name"] for line in lines if line["type"] == "tool" and line["accepted"]]


def problems_of(case: Case, got: dict[str, Any]) -> list[str]:
    """What is wrong with the persona's call and its events (none: it passed)."""
    found: list[str] = []
    call = got["call"]
    record = call["metadata"].get("conversation")
    if record is None:
        return [f"no conversation recorded (call {call['status']})"]
    # The outcome: what the agent recorded, and the call's (the transcript's reading when
    # the agent recorded none).
    if record["outcome"] != case.outcome:
        found.append(f"recorded outcome {record['outcome']} (expected {case.outcome})")
    if case.outcome is not None and call["outcome"] != case.outcome:
        found.append(f"call outcome {call['outcome']} (expected {case.outcome})")
    if case.ended_by is not None and record["ended_by"] != case.ended_by:
        found.append(f"ended by {record['ended_by']} (expected {case.ended_by})")
    tools = accepted_tools(call)
    if tools != case.tools:
        found.append(f"tools {tools} (expected {case.tools})")
    guard = Guard(
        context(
            0,
            invoice_number=got["invoice"]["number"],
            company_name=COMPANY,
            amount=Decimal(got["invoice"]["amount"]),
            amount_text="1,250.00 USD",
        )
    )
    for said in agent_lines_before_verification(record):
        if guard.discloses(said):
            found.append(f"disclosed before verification: {said!r}")

    # The call's events: its transitions in order, then its terminal event with the call as
    # the API shows it (and, for an opt-out, call.opted_out after it, the same call).
    types = [e["type"] for e in got["call_events"]]
    terminal = f"call.{call['status']}"
    # The worker follows a simulated call by polling it: a status shorter than a poll (the
    # ring; the whole of a call the debtor hangs up at once) is never seen, so has no event.
    expected = [t for t in ("call.ringing", "call.in_progress") if t in types]
    expected = ["call.initiated", *expected, terminal]
    if call["outcome"] == "opt_out":
        expected.append("call.opted_out")
    if types != expected:
        found.append(f"call events {types} (expected {expected})")
    for event in got["call_events"]:
        if event["type"] in (terminal, "call.opted_out") and event["data"] != call:
            found.append(f"{event['type']}'s data is not the call as GET /v1/calls shows it")

    # The callout's ending: a wrong party fails it, any other outcome completes it; a call
    # nobody spoke on is an unanswered one, its callout held for its next attempt.
    callout_types = [e["type"] for e in got["callout_events"]]
    spoke = any(line.get("speaker") not in (None, "agent") for line in record["lines"])
    ending = "callout.failed" if call["outcome"] == "wrong_party" else "callout.completed"
    if not spoke:
        ending = "callout.held"
    if not callout_types or callout_types[-1] != ending:
        found.append(f"callout events {callout_types} (expected to end with {ending})")
    elif "callout.active" not in callout_types:
        found.append(f"callout events {callout_types} (no callout.active)")
    elif not spoke and got["callout_events"][-1]["data"].get("hold_reason") != (
        "retry_after_completed"
    ):
        found.append(f"callout held for {got['callout_events'][-1]['data'].get('hold_reason')}")

    # The outcome's effect on the invoice.
    invoice_types = [e["type"] for e in got["invoice_events"]]
    effect = {"promise_to_pay": "invoice.promised", "dispute": "invoice.disputed"}.get(
        call["outcome"]
    )
    for other in ("invoice.promised", "invoice.disputed"):
        if other == effect and other not in invoice_types:
            found.append(f"invoice events {invoice_types} (no {other})")
        if other != effect and other in invoice_types:
            found.append(f"invoice events {invoice_types} ({other} unexpected)")
    for event in [e for e in got["invoice_events"] if e["type"] == effect]:
        if effect == "invoice.promised" and event["data"]["promised_date"] is None:
            found.append("invoice.promised without the promised date")
        if effect == "invoice.disputed" and event["data"]["status"] != "disputed":
            found.append("invoice.disputed with the invoice not disputed")
    # A callback: the new callout's callout.scheduled, among the invoice's events.
    scheduled = [
        e
        for e in got["all_events"]
        if e["type"] == "callout.scheduled" and e["object_id"] != got["callout"]["id"]
    ]
    if call["outcome"] == "callback_requested":
        data = scheduled[0]["data"] if len(scheduled) == 1 else {}
        if data.get("metadata", {}).get("callback_requested_on") != call["id"]:
            found.append(f"callback: the new callout's events {scheduled}")
    elif scheduled:
        found.append(f"a callout scheduled after a {call['outcome']} call")
    return found


async def test_every_simulated_debtor_ends_in_its_outcome_with_its_events(shared_api: Api) -> None:
    tenant = await shared_api.tenant(company=COMPANY)
    agents = {
        lang: (await tenant.agent(mode="conversation", language=lang))["id"]
        for lang in ("en-US", "es-ES")
    }
    missing = [name for _, name in PERSONAS if name not in CASE_OF]
    assert missing == []
    placed = [await place(tenant, digits, agents) for digits, _ in PERSONAS]
    results = await asyncio.gather(*(concluded(tenant, p) for p in placed))
    assert sorted(got["persona"] for got in results) == sorted(name for _, name in PERSONAS)
    problems = {
        got["persona"]: found
        for got in results
        if (found := problems_of(CASE_OF[got["persona"]], got))
    }
    assert problems == {}, problems

    # The checks fail on a missing event: each of the call's, the callout's and the
    # effects' events left out in turn is found missing.
    by_name = {got["persona"]: got for got in results}
    for name, kind, missing_type in [
        ("cooperative", "call_events", "call.completed"),
        ("cooperative", "call_events", "call.initiated"),
        ("cooperative", "invoice_events", "invoice.promised"),
        ("cooperative", "callout_events", "callout.completed"),
        ("dispute", "invoice_events", "invoice.disputed"),
        ("opt_out", "call_events", "call.opted_out"),
        ("wrong_number", "callout_events", "callout.failed"),
        ("callback", "all_events", "callout.scheduled"),
    ]:
        got = by_name[name]
        kept = [e for e in got[kind] if e["type"] != missing_type]
        assert len(kept) < len(got[kind]), (name, missing_type)
        assert problems_of(CASE_OF[name], {**got, kind: kept}) != [], (name, missing_type)
