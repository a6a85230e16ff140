"""Every documented callout example in CREDIRA_DOCS.md (§1.4, §2.1-2.3): our reply has the same
fields and JSON types. The examples are pasted as the docs print them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.shapes import assert_same_shape
from tests.support import Api, Tenant

# §2.1 GET /callouts?invoice_id=inv_987654321
GET_CALLOUTS: dict[str, Any] = {
    "success": True,
    "data": [
        {
            "id": "callout_123456789",
            "invoice_id": "inv_987654321",
            "status": "scheduled",
            "type": "payment_reminder",
            "scheduled_time": "2024-01-20T10:00:00Z",
            "created_time": "2024-01-19T09:00:00Z",
            "updated_time": "2024-01-19T09:00:00Z",
            "target_contact": {
                "name": "John Doe",
                "email": "john.doe@example.com",
                "phone": "+1234567890",
            },
            "actions": {
                "calls_enabled": True,
                "emails_enabled": False,
                "voice_agent_id": "agent_456789123",
            },
            "account_id": "acc_789123456",
            "priority": "high",
            "metadata": {"campaign_id": "camp_123", "department": "billing"},
        }
    ],
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "total_callouts": 1,
    },
}

# §2.2 PUT /callouts/{id}: the request and its reply.
PUT_CALLOUT_REQUEST: dict[str, Any] = {
    "scheduled_time": "2024-01-25T14:00:00Z",
    "actions": {
        "calls_enabled": True,
        "emails_enabled": True,
        "voice_agent_id": "agent_789123456",
    },
    "priority": "high",
    "target_contact": {
        "name": "Jane Smith",
        "email": "jane.smith@example.com",
        "phone": "+1987654321",
    },
    "metadata": {
        "campaign_id": "camp_456",
        "department": "sales",
        "notes": "Updated contact information",
    },
}
PUT_CALLOUT: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "callout_123456789",
        "invoice_id": "inv_987654321",
        "status": "scheduled",
        "type": "payment_reminder",
        "scheduled_time": "2024-01-25T14:00:00Z",
        "created_time": "2024-01-19T09:00:00Z",
        "updated_time": "2024-01-15T10:30:00Z",
        "target_contact": {
            "name": "Jane Smith",
            "email": "jane.smith@example.com",
            "phone": "+1987654321",
        },
        "actions": {
            "calls_enabled": True,
            "emails_enabled": True,
            "voice_agent_id": "agent_789123456",
        },
        "account_id": "acc_789123456",
        "priority": "high",
        "metadata": {
            "campaign_id": "camp_456",
            "department": "sales",
            "notes": "Updated contact information",
        },
    },
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "message": "Callout updated successfully",
    },
}

# §2.3 DELETE /callouts/{id}: deleted_items mixes booleans and integer counts.
DELETE_CALLOUT: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "callout_123456789",
        "deleted": True,
        "deleted_time": "2024-01-15T10:30:00Z",
        "deleted_items": {
            "callout": True,
            "recordings": 2,
            "transcriptions": 2,
            "analytics": True,
        },
    },
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "message": "Callout deleted successfully",
    },
}


def error_example(code: str, message: str) -> dict[str, Any]:
    """The documented error envelope (§1.4); every error example has exactly this shape."""
    return {
        "success": False,
        "error": {"code": code, "message": message},
        "meta": {"timestamp": "2024-01-15T10:30:00Z", "request_id": "req_123456789"},
    }


# §1.4's envelope example is GET /callouts without invoice_id; §2.2 shows INVALID_REQUEST
# "Invalid request data"; §2.3 shows "Invalid callout ID format" and UNAUTHORIZED.
MISSING_INVOICE_ID = error_example("INVALID_REQUEST", "Missing required parameter: invoice_id")
PUT_INVALID_REQUEST = error_example("INVALID_REQUEST", "Invalid request data")
DELETE_INVALID_ID = error_example("INVALID_REQUEST", "Invalid callout ID format")
DELETE_UNAUTHORIZED = error_example("UNAUTHORIZED", "Invalid or missing API key")


def body_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["X-Request-ID"] == body["meta"]["request_id"]
    return body


async def documented_callout(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    """The §2.1 example's callout: an invoice, an agent, a scheduled call-only callout."""
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    callout = await tenant.callout(invoice["id"], agent["id"])
    return invoice, callout


async def test_get_callouts_matches_the_documented_example(api: Api) -> None:
    tenant = await api.tenant()
    invoice, callout = await documented_callout(tenant)

    response = await tenant.request("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})

    body = body_of(response, 200)
    # meta.has_more is our cursor-pagination extension (API.md §3), present on every list.
    assert_same_shape(body, GET_CALLOUTS, optional=frozenset({"$.meta.has_more"}))
    assert body["meta"]["total_callouts"] == 1
    assert body["data"] == [callout]


async def test_put_callout_matches_the_documented_example(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, callout = await documented_callout(tenant)
    agent = await tenant.agent(name="Second agent")
    request = {**PUT_CALLOUT_REQUEST, "actions": {**PUT_CALLOUT_REQUEST["actions"]}}
    request["actions"]["voice_agent_id"] = agent["id"]

    response = await tenant.request("PUT", f"/v1/callouts/{callout['id']}", json=request)

    body = body_of(response, 200)
    assert_same_shape(body, PUT_CALLOUT)
    assert body["meta"]["message"] == PUT_CALLOUT["meta"]["message"]


async def test_delete_callout_matches_the_documented_example(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, callout = await documented_callout(tenant)

    response = await tenant.request("DELETE", f"/v1/callouts/{callout['id']}")

    body = body_of(response, 200)
    assert_same_shape(body, DELETE_CALLOUT)
    assert body["data"]["id"] == callout["id"]
    assert body["data"]["deleted"] is True
    assert body["data"]["deleted_items"]["callout"] is True
    assert body["meta"]["message"] == DELETE_CALLOUT["meta"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "example"),
    [
        ("GET", "/v1/callouts", MISSING_INVOICE_ID),
        ("DELETE", "/v1/callouts/callout-123", DELETE_INVALID_ID),
        ("PUT", "/v1/callouts/callout_123456789!", PUT_INVALID_REQUEST),
    ],
    ids=["get-missing-invoice-id", "delete-bad-id", "put-bad-id"],
)
async def test_documented_invalid_request_examples(
    api: Api, method: str, path: str, example: dict[str, Any]
) -> None:
    tenant = await api.tenant()
    kwargs: dict[str, Any] = {"json": {"priority": "low"}} if method == "PUT" else {}

    body = body_of(await tenant.request(method, path, **kwargs), 400)

    assert_same_shape(body, example)
    assert body["error"]["code"] == "INVALID_REQUEST"
    if example is not PUT_INVALID_REQUEST:
        # "Invalid request data" is the docs' catch-all; we name the actual fault instead.
        assert body["error"]["message"] == example["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/callouts?invoice_id=inv_987654321"),
        ("PUT", "/v1/callouts/callout_123456789"),
        ("DELETE", "/v1/callouts/callout_123456789"),
    ],
)
async def test_documented_unauthorized_example(api: Api, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"json": PUT_CALLOUT_REQUEST} if method == "PUT" else {}
    headers = {"Authorization": "Bearer YOUR_API_KEY", "Content-Type": "application/json"}

    response = await api.client.request(method, path, headers=headers, **kwargs)

    body = body_of(response, 401)
    assert_same_shape(body, DELETE_UNAUTHORIZED)
    assert body["error"] == DELETE_UNAUTHORIZED["error"]


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/v1/callouts?invoice_id=inv_987654321", "Invoice not found"),
        ("PUT", "/v1/callouts/callout_123456789", "Callout not found"),
        ("DELETE", "/v1/callouts/callout_123456789", "Callout not found"),
    ],
)
async def test_documented_not_found_examples(
    api: Api, method: str, path: str, message: str
) -> None:
    # Only inferred for these pages (§2.1, §2.3 are cut off), but the messages are the docs'.
    tenant = await api.tenant()
    kwargs: dict[str, Any] = {"json": {"priority": "low"}} if method == "PUT" else {}

    body = body_of(await tenant.request(method, path, **kwargs), 404)

    assert_same_shape(body, error_example("NOT_FOUND", message))
    assert body["error"]["message"] == message
