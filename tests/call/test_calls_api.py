"""The calls API without a worker: what POST /calls answers and refuses, the read endpoints'
errors, and the media endpoints for a call that has not been placed.

Worker-driven scenarios (a call that completes, is held by the calling window, is reported and
deleted) are in test_call_documented.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from tests.call.documented import (
    CREATE_REPLY,
    assert_same_shape,
    call_request,
    parse_time,
)
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCUMENTED_PHONE_DETAILS = "Phone number must be in E.164 format (e.g., +1234567890)"


async def nothing_written(tenant: Tenant, invoice_id: str) -> None:
    """After a refused POST /calls: no call and no callout exists for the invoice."""
    calls = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice_id})
    assert (calls["data"], calls["meta"]["total_calls"]) == ([], 0)
    callouts = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice_id})
    assert (callouts["data"], callouts["meta"]["total_callouts"]) == ([], 0)


def assert_error(response: Any, status: int, code: str, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert (body["error"]["code"], body["error"]["message"]) == (code, message), body
    assert set(body["meta"]) == {"timestamp", "request_id"}
    return body


# -- POST /calls: the documented request and reply -------------------------------------------


async def test_create_call_with_the_documented_request_answers_the_documented_reply(
    shared_api: Api,
) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    request = call_request(invoice, agent)
    response = await tenant.request("POST", "/v1/calls", json=request)
    assert response.status_code == 201, response.text
    body = response.json()
    assert_same_shape(body, CREATE_REPLY)
    data = body["data"]
    assert data["id"].startswith("call_")
    assert data["invoice_id"] == invoice["id"]
    assert data["phone_number"] == request["phone_number"]
    assert data["voice_agent_id"] == agent["id"]
    assert data["status"] == "initiated"
    assert data["call_purpose"] == "payment_reminder"
    assert data["customer_name"] == "John Doe"
    assert data["scheduled_time"] == "2024-01-15T14:30:00Z"
    assert data["account_id"] == tenant.account_id
    parse_time(data["created_time"])
    assert data["estimated_duration"] > 0
    assert data["call_priority"] == "high"
    assert data["metadata"] == request["metadata"]
    assert body["meta"]["message"] == "Call has been initiated successfully"
    assert body["meta"]["request_id"].startswith("req_")
    parse_time(body["meta"]["timestamp"])
    # The call is there to read, still initiated (no worker runs in this module).
    listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    assert [c["id"] for c in listed["data"]] == [data["id"]]
    assert listed["meta"]["total_calls"] == 1
    detail = (await tenant.ok("GET", f"/v1/calls/{data['id']}"))["data"]
    assert (detail["status"], detail["to"], detail["metadata"]) == (
        "initiated",
        "+1234567890",
        request["metadata"],
    )


@pytest.mark.parametrize(
    ("metadata", "priority"),
    [
        ({"priority": "urgent"}, "urgent"),
        ({"priority": "low"}, "low"),
        ({"campaign_id": "camp_123"}, "medium"),
    ],
)
async def test_call_priority_comes_from_metadata_priority(
    shared_api: Api, metadata: dict[str, Any], priority: str
) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    body = await tenant.ok(
        "POST", "/v1/calls", json=call_request(invoice, agent, metadata=metadata)
    )
    assert body["data"]["call_priority"] == priority
    [callout] = (await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]}))[
        "data"
    ]
    assert callout["priority"] == priority


async def test_create_call_with_only_the_required_fields_calls_now(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    body = {
        "phone_number": "+14155550100",
        "invoice_id": invoice["id"],
        "voice_agent_id": agent["id"],
    }
    data = (await tenant.ok("POST", "/v1/calls", json=body))["data"]
    assert data["status"] == "initiated"
    assert data["scheduled_time"] == data["created_time"]
    assert data["customer_name"] is None
    assert data["metadata"] == {}


# -- POST /calls: refused input writes nothing -----------------------------------------------

MISSING = [
    ("phone_number", "Missing required field: phone_number"),
    ("invoice_id", "Missing required field: invoice_id"),
    ("voice_agent_id", "Missing required field: voice_agent_id"),
]


@pytest.mark.parametrize(("field", "message"), MISSING)
async def test_create_call_without_a_required_field_is_invalid_request(
    shared_api: Api, field: str, message: str
) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    request = call_request(invoice, agent)
    del request[field]
    response = await tenant.request("POST", "/v1/calls", json=request)
    assert_error(response, 400, "INVALID_REQUEST", message)
    await nothing_written(tenant, invoice["id"])


@pytest.mark.parametrize(
    "number",
    ["1234567890", "+0987654321", "+1 415 555 0100", "(415) 555-0100", "+", "+999123456789"],
)
async def test_create_call_to_a_number_not_in_e164_is_validation_error(
    shared_api: Api, number: str
) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    response = await tenant.request(
        "POST", "/v1/calls", json=call_request(invoice, agent, phone_number=number)
    )
    body = assert_error(response, 422, "VALIDATION_ERROR", "Invalid phone number format")
    assert DOCUMENTED_PHONE_DETAILS in body["error"]["details"]
    await nothing_written(tenant, invoice["id"])


async def test_create_call_for_an_unknown_or_foreign_invoice_is_not_found(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    other = await shared_api.tenant(company="Other Corp")
    invoice = await tenant.invoice()
    foreign = await other.invoice()
    agent = await tenant.agent()
    for invoice_id in ("inv_987654321", foreign["id"]):
        response = await tenant.request(
            "POST", "/v1/calls", json=call_request({"id": invoice_id}, agent)
        )
        assert_error(response, 404, "NOT_FOUND", "Invoice not found")
    await nothing_written(tenant, invoice["id"])
    await nothing_written(other, foreign["id"])


async def test_create_call_with_an_unknown_or_foreign_agent_is_not_found(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    other = await shared_api.tenant(company="Other Corp")
    invoice = await tenant.invoice()
    foreign = await other.agent()
    for agent_id in ("agent_456789123", foreign["id"]):
        response = await tenant.request(
            "POST", "/v1/calls", json=call_request(invoice, {"id": agent_id})
        )
        assert_error(response, 404, "NOT_FOUND", "Voice agent not found")
    await nothing_written(tenant, invoice["id"])


@pytest.mark.parametrize("status", ["paid", "void", "disputed"])
async def test_create_call_for_a_settled_invoice_conflicts(shared_api: Api, status: str) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice(status=status)
    agent = await tenant.agent()
    response = await tenant.request("POST", "/v1/calls", json=call_request(invoice, agent))
    assert_error(response, 409, "CONFLICT", f"Cannot call about a {status} invoice")
    await nothing_written(tenant, invoice["id"])


async def test_create_call_without_a_key_is_unauthorized(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    response = await shared_api.client.post("/v1/calls", json=call_request(invoice, agent))
    assert_error(response, 401, "UNAUTHORIZED", "Invalid or missing API key")
    await nothing_written(tenant, invoice["id"])


# -- GET /calls and GET /calls/{id}: errors -------------------------------------------------


async def test_list_calls_without_invoice_id_is_invalid_request(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    response = await tenant.request("GET", "/v1/calls")
    assert_error(response, 400, "INVALID_REQUEST", "Missing required parameter: invoice_id")


async def test_list_calls_of_an_unknown_or_foreign_invoice_is_not_found(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    other = await shared_api.tenant(company="Other Corp")
    foreign = await other.invoice()
    for invoice_id in ("inv_987654321", foreign["id"]):
        response = await tenant.request("GET", "/v1/calls", params={"invoice_id": invoice_id})
        assert_error(response, 404, "NOT_FOUND", "Invoice not found")


async def test_list_calls_of_an_invoice_without_calls_is_empty(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    body = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    assert body["data"] == []
    assert body["meta"]["total_calls"] == 0


async def test_get_an_unknown_or_foreign_call_is_not_found(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    other = await shared_api.tenant(company="Other Corp")
    invoice = await other.invoice()
    agent = await other.agent()
    foreign = (await other.ok("POST", "/v1/calls", json=call_request(invoice, agent)))["data"]
    for call_id in ("call_123456789", foreign["id"]):
        response = await tenant.request("GET", f"/v1/calls/{call_id}")
        assert_error(response, 404, "NOT_FOUND", "Call not found")


# -- media of a call that has not been placed ------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def initiated_call(shared_api: Api) -> tuple[Tenant, dict[str, Any]]:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    call = (await tenant.ok("POST", "/v1/calls", json=call_request(invoice, agent)))["data"]
    return tenant, call


@pytest.mark.parametrize(
    "path",
    ["/transcriptions/{id}.txt", "/recordings/{id}.mp3", "/recordings/{id}.wav"],
)
async def test_media_of_a_call_not_yet_placed_is_not_found(
    initiated_call: tuple[Tenant, dict[str, Any]], path: str
) -> None:
    tenant, call = initiated_call
    response = await tenant.request("GET", path.format(id=call["id"]))
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND"
    detail = (await tenant.ok("GET", f"/v1/calls/{call['id']}"))["data"]
    assert detail["transcription_url"] is None
    assert detail["call_recording_url"] is None


@pytest.mark.parametrize("path", ["/transcriptions/{id}.txt", "/recordings/{id}.mp3"])
async def test_media_without_a_key_is_unauthorized(
    initiated_call: tuple[Tenant, dict[str, Any]], path: str
) -> None:
    tenant, call = initiated_call
    response = await tenant.api.client.get(path.format(id=call["id"]))
    assert_error(response, 401, "UNAUTHORIZED", "Invalid or missing API key")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "path",
    ["/v1/transcriptions/{id}.txt", "/transcriptions/{id}.mp3", "/transcriptions/{id}"],
)
async def test_media_under_a_wrong_path_or_extension_is_not_found(
    initiated_call: tuple[Tenant, dict[str, Any]], path: str
) -> None:
    tenant, call = initiated_call
    response = await tenant.request("GET", path.format(id=call["id"]))
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND"
