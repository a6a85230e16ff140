"""Calls placed by the embedded worker, read back through the documented endpoints.

A call requested with POST /calls (or a callout) to a number ending in 00, for a debtor whose
zone is in calling hours, is answered by the simulator and ends ``completed``; its list and
detail objects, transcript, callout response report and deletion are checked against the docs
(CREDIRA_DOCS.md §2.3 to §2.6). A call for a debtor whose zone is at night is held, not placed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from tests.call.documented import (
    DETAIL_EXTRAS,
    DETAIL_METADATA,
    DETAIL_REPLY,
    LIST_EXTRAS,
    LIST_REPLY,
    RESPONSE_REPLY,
    assert_same_shape,
    call_request,
    call_status,
    finished_callout,
    parse_time,
    phone,
    response_extras,
)
from tests.support import Api, Tenant, eventually, zone_at_night, zone_in_calling_hours

pytestmark = pytest.mark.asyncio(loop_scope="module")

EMBEDDED_WORKER = True  # read by tests/call/conftest.py
FROM_NUMBER = "+14155550199"
PUBLIC_URL = "http://testserver"


def without_recording(documented: dict[str, Any]) -> dict[str, Any]:
    """The documented reply with ``call_recording_url`` null wherever it appears.

    No text-to-speech engine is installed, so the simulator's calls have no audio: the URL is
    null rather than a link that would answer 404. Each test asserts that explicitly.
    """
    result = copy.deepcopy(documented)

    def clear(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "call_recording_url":
                    node[key] = None
                else:
                    clear(value)
        elif isinstance(node, list):
            for item in node:
                clear(item)

    clear(result)
    return result


@dataclass(frozen=True)
class Placed:
    tenant: Tenant
    zone: str
    invoice: dict[str, Any]
    agent: dict[str, Any]
    created: dict[str, Any]  # the POST /calls reply's data
    call: dict[str, Any]  # GET /calls/{id} once completed


async def debtor(api: Api, digits: str, zone: str) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone(digits), "timezone": zone}
    )
    agent = await tenant.agent(from_number=FROM_NUMBER)
    return tenant, invoice, agent


async def request_call(api: Api, digits: str, zone: str, **overrides: Any) -> Placed:
    """POST /calls now (no ``scheduled_time``) with the documented fields and our ids."""
    tenant, invoice, agent = await debtor(api, digits, zone)
    body = call_request(invoice, agent, phone_number=phone(digits), **overrides)
    del body["scheduled_time"]
    created = (await tenant.ok("POST", "/v1/calls", json=body))["data"]
    assert created["status"] == "initiated"
    return Placed(tenant, zone, invoice, agent, created, created)


async def completed_call(api: Api) -> Placed:
    placed = await request_call(api, "00", zone_in_calling_hours(), metadata=DETAIL_METADATA)
    call = await call_status(placed.tenant, placed.created["id"], "completed", "failed")
    assert call["status"] == "completed", call
    await finished_callout(placed.tenant, call["callout_id"])
    return Placed(placed.tenant, placed.zone, placed.invoice, placed.agent, placed.created, call)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def placed(shared_api: Api) -> Placed:
    """One call requested with POST /calls and completed by the worker, read by several tests."""
    return await completed_call(shared_api)


# -- GET /calls and GET /calls/{id} of a completed call ---------------------------------------


async def test_completed_call_is_listed_with_every_documented_field(placed: Placed) -> None:
    tenant, call_id = placed.tenant, placed.created["id"]
    body = await tenant.ok("GET", "/v1/calls", params={"invoice_id": placed.invoice["id"]})
    assert_same_shape(body, without_recording(LIST_REPLY), optional=LIST_EXTRAS)
    [item] = body["data"]
    assert (body["meta"]["total_calls"], body["meta"]["has_more"]) == (1, False)
    assert item == {
        "id": call_id,
        "invoice_id": placed.invoice["id"],
        "duration": item["duration"],
        "status": "completed",
        "from": FROM_NUMBER,
        "to": phone("00"),
        "transcription_url": f"{PUBLIC_URL}/transcriptions/{call_id}.txt",
        "call_recording_url": None,  # no text-to-speech engine is installed
        "confidence_score": item["confidence_score"],
        "voice_agent_id": placed.agent["id"],
        "timezone": placed.zone,
        "account_id": tenant.account_id,
        "created_time": placed.created["created_time"],
    }
    assert item["duration"] > 0
    assert 0 < item["confidence_score"] <= 1


async def test_completed_call_by_id_has_every_documented_detail_field(placed: Placed) -> None:
    tenant, call_id = placed.tenant, placed.created["id"]
    body = await tenant.ok("GET", f"/v1/calls/{call_id}")
    assert_same_shape(body, without_recording(DETAIL_REPLY), optional=DETAIL_EXTRAS)
    call = body["data"]
    listed = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": placed.invoice["id"]}))[
        "data"
    ][0]
    assert {k: call[k] for k in listed} == listed
    assert call["call_recording_url"] is None  # no text-to-speech engine is installed
    created, updated = parse_time(call["created_time"]), parse_time(call["updated_time"])
    start, end = parse_time(call["start_time"]), parse_time(call["end_time"])
    assert created <= start <= end <= updated
    assert call["call_type"] == "outbound"
    assert call["cost"] >= 0
    assert call["currency"] == "USD"
    for score in ("quality_score", "sentiment_score"):
        assert 0 <= call[score] <= 1, score
    assert call["keywords"]
    assert all(isinstance(k, str) and k for k in call["keywords"])
    assert call["summary"]
    assert call["tags"] == ["payment-reminder"]
    assert call["metadata"] == DETAIL_METADATA
    assert call["outcome"] == "acknowledged"
    assert call["analysis_source"] == "rules"  # no LLM is set


async def test_call_of_an_agent_without_from_number_still_names_its_caller_id(
    shared_api: Api,
) -> None:
    tenant = await shared_api.tenant()
    zone = zone_in_calling_hours()
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone("00"), "timezone": zone}
    )
    agent = await tenant.agent()  # no from_number: the documented minimum
    body = {"phone_number": phone("00"), "invoice_id": invoice["id"], "voice_agent_id": agent["id"]}
    created = (await tenant.ok("POST", "/v1/calls", json=body))["data"]
    call = await call_status(tenant, created["id"], "completed", "failed")
    assert call["status"] == "completed"
    assert isinstance(call["from"], str), call["from"]


# -- transcripts and recordings ---------------------------------------------------------------


async def test_transcript_is_served_as_text_to_its_account(placed: Placed) -> None:
    response = await placed.tenant.request("GET", f"/transcriptions/{placed.created['id']}.txt")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("Agent: Hello John Doe")
    assert placed.invoice["number"] in lines[0]
    assert any(line.startswith("Debtor: ") for line in lines)
    assert all(line.startswith(("Agent: ", "Debtor: ")) for line in lines)


async def test_transcript_is_not_found_for_another_account(placed: Placed, shared_api: Api) -> None:
    other = await shared_api.tenant(company="Other Corp")
    response = await other.request("GET", f"/transcriptions/{placed.created['id']}.txt")
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert "Agent:" not in response.text


async def test_transcript_without_a_key_is_unauthorized(placed: Placed, shared_api: Api) -> None:
    response = await shared_api.client.get(f"/transcriptions/{placed.created['id']}.txt")
    assert response.status_code == 401, response.text
    assert response.json()["error"] == {
        "code": "UNAUTHORIZED",
        "message": "Invalid or missing API key",
    }


@pytest.mark.parametrize("extension", ["mp3", "wav"])
async def test_recording_of_a_completed_call_is_not_found_without_tts(
    placed: Placed, extension: str
) -> None:
    response = await placed.tenant.request("GET", f"/recordings/{placed.created['id']}.{extension}")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND"


# -- the calling window -----------------------------------------------------------------------


async def test_call_requested_at_night_waits_for_eight_in_the_morning(shared_api: Api) -> None:
    zone = zone_at_night()
    placed = await request_call(shared_api, "00", zone)
    tenant, invoice_id = placed.tenant, placed.invoice["id"]
    requested = datetime.now(UTC)

    async def held() -> dict[str, Any] | None:
        listed = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice_id})
        [callout] = listed["data"]
        return callout if "hold_reason" in callout else None

    callout = await eventually(held, within=10)
    assert callout["status"] == "scheduled"
    assert callout["hold_reason"] == "outside_calling_window"
    next_attempt = parse_time(callout["next_attempt_time"])
    assert requested < next_attempt < requested + timedelta(hours=24)
    local = next_attempt.astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute, local.second) == (8, 0, 0)
    call = (await tenant.ok("GET", f"/v1/calls/{placed.created['id']}"))["data"]
    assert call["status"] == "initiated"
    assert call["start_time"] is None
    assert call["transcription_url"] is None


# -- GET /callouts/{id}/response --------------------------------------------------------------


async def start_callout(tenant: Tenant, invoice: dict[str, Any], agent: dict[str, Any]) -> str:
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    callout_id: str = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]["id"]
    return callout_id


async def test_response_of_a_completed_callout_matches_the_documented_example(
    shared_api: Api,
) -> None:
    tenant, invoice, agent = await debtor(shared_api, "00", zone_in_calling_hours())
    callout_id = await start_callout(tenant, invoice, agent)
    callout = await finished_callout(tenant, callout_id)
    assert callout["status"] == "completed"
    body = await tenant.ok("GET", f"/v1/callouts/{callout_id}/response")
    assert_same_shape(body, without_recording(RESPONSE_REPLY), optional=response_extras(1))
    data = body["data"]
    [entry] = data["responses"]
    [call] = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    detail = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    assert (data["callout_id"], data["status"]) == (callout_id, "completed")
    assert (data["total_attempts"], data["successful_attempts"]) == (1, 1)
    assert entry["attempt_id"].startswith("attempt_")
    assert entry["type"] == "call"
    assert entry["call_id"] == call["id"]
    for key in ("status", "duration", "call_recording_url", "transcription_url"):
        assert entry[key] == detail[key], key
    for key in ("confidence_score", "sentiment_score", "keywords", "summary", "voice_agent_id"):
        assert entry[key] == detail[key], key
    assert entry["call_recording_url"] is None  # no text-to-speech engine is installed
    assert parse_time(entry["timestamp"]) <= parse_time(detail["start_time"])
    analytics = data["analytics"]
    assert analytics["total_duration"] == entry["duration"]
    assert analytics["average_confidence"] == round(entry["confidence_score"], 2)
    assert analytics["sentiment_analysis"] in ("positive", "neutral", "negative")
    assert set(analytics["key_topics"]) <= set(entry["keywords"])
    assert analytics["customer_engagement"] == "high"
    assert data["created_time"] == callout["created_time"]
    assert data["completed_time"] == callout["completed_time"]


async def test_response_of_an_unanswered_callout_shows_one_unsuccessful_attempt(
    shared_api: Api,
) -> None:
    tenant, invoice, agent = await debtor(shared_api, "01", zone_in_calling_hours())
    callout_id = await start_callout(tenant, invoice, agent)

    async def retrying() -> dict[str, Any] | None:
        data: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        return data if data.get("hold_reason") == "retry_after_no_answer" else None

    await eventually(retrying, within=15)
    data = (await tenant.ok("GET", f"/v1/callouts/{callout_id}/response"))["data"]
    assert (data["total_attempts"], data["successful_attempts"]) == (1, 0)
    assert data["status"] == "scheduled"
    [entry] = data["responses"]
    assert (entry["type"], entry["status"], entry["duration"]) == ("call", "no_answer", 0)
    assert entry["transcription_url"] is None
    assert data["analytics"]["total_duration"] == 0
    assert data["completed_time"] is None
    transcript = await tenant.request("GET", f"/transcriptions/{entry['call_id']}.txt")
    assert transcript.status_code == 404, transcript.text
    assert transcript.json()["error"]["code"] == "NOT_FOUND"


# -- DELETE /callouts/{id} of a completed callout ---------------------------------------------


async def test_delete_completed_callout_removes_its_call_and_transcript(shared_api: Api) -> None:
    done = await completed_call(shared_api)
    tenant, call_id, callout_id = done.tenant, done.call["id"], done.call["callout_id"]
    body = await tenant.ok("DELETE", f"/v1/callouts/{callout_id}")
    data = body["data"]
    assert (data["id"], data["deleted"]) == (callout_id, True)
    assert data["deleted_items"] == {
        "callout": True,
        "recordings": 0,
        "transcriptions": 1,
        "analytics": True,
    }
    assert body["meta"]["message"] == "Callout deleted successfully"
    for path, message in [
        (f"/v1/calls/{call_id}", "Call not found"),
        (f"/v1/callouts/{callout_id}", "Callout not found"),
        (f"/v1/callouts/{callout_id}/response", "Callout not found"),
    ]:
        response = await tenant.request("GET", path)
        assert response.status_code == 404, path
        assert response.json()["error"] == {"code": "NOT_FOUND", "message": message}, path
    transcript = await tenant.request("GET", f"/transcriptions/{call_id}.txt")
    assert transcript.status_code == 404
    assert transcript.json()["error"]["code"] == "NOT_FOUND"
    listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": done.invoice["id"]})
    assert (listed["data"], listed["meta"]["total_calls"]) == ([], 0)
