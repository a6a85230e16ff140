"""Every documented /users example (CREDIRA_DOCS.md 2.11-2.14): our reply has its shape.

The documented JSON is pasted as Python literals; ids and times are ours, but the keys, nesting,
JSON types, timestamp format, id prefixes and ``meta.message`` texts must match.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Api, bearer
from tests.user.helpers import (
    ADMIN,
    EVERY_PERMISSION,
    assert_error,
    assert_same_shape,
    member,
)

# --- 2.11 POST /users ---------------------------------------------------------------------

CREATE_REQUEST: dict[str, Any] = {
    "email": "john.doe@company.com",
    "name": "John Doe",
    "company": "Acme Corporation",
    "role": "billing_manager",
    "department": "finance",
    "phone": "+1234567890",
    "metadata": {
        "subscription_plan": "premium",
        "timezone": "America/New_York",
        "language": "en",
    },
}

CREATE_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "user_123456789",
        "email": "john.doe@company.com",
        "name": "John Doe",
        "company": "Acme Corporation",
        "role": "billing_manager",
        "department": "finance",
        "phone": "+1234567890",
        "api_key": "credira_sk_1234567890abcdef",
        "account_id": "acc_789123456",
        "status": "active",
        "created_time": "2024-01-15T10:30:00Z",
        "last_login": None,
        "permissions": [
            "calls:read",
            "calls:write",
            "emails:read",
            "emails:write",
            "callouts:read",
            "callouts:write",
        ],
        "metadata": {
            "subscription_plan": "premium",
            "timezone": "America/New_York",
            "language": "en",
        },
    },
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "message": "User created successfully",
    },
}

# --- 2.12 GET /users/{id} -----------------------------------------------------------------

GET_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "user_123456789",
        "email": "john.doe@company.com",
        "name": "John Doe",
        "company": "Acme Corporation",
        "role": "billing_manager",
        "department": "finance",
        "phone": "+1234567890",
        "account_id": "acc_789123456",
        "status": "active",
        "created_time": "2024-01-15T10:30:00Z",
        "last_login": "2024-01-20T09:15:00Z",
        "permissions": [
            "calls:read",
            "calls:write",
            "emails:read",
            "emails:write",
            "callouts:read",
            "callouts:write",
        ],
        "activity_stats": {
            "total_calls_made": 45,
            "total_emails_sent": 120,
            "total_callouts_created": 8,
            "last_activity": "2024-01-20T09:15:00Z",
        },
        "metadata": {
            "subscription_plan": "premium",
            "timezone": "America/New_York",
            "language": "en",
        },
    },
    "meta": {"timestamp": "2024-01-15T10:30:00Z", "request_id": "req_123456789"},
}

# --- 2.13 PUT /users/{id} -----------------------------------------------------------------

UPDATE_REQUEST: dict[str, Any] = {
    "name": "John Smith",
    "role": "senior_billing_manager",
    "department": "finance",
    "phone": "+1987654321",
    "status": "active",
    "permissions": [
        "calls:read",
        "calls:write",
        "emails:read",
        "emails:write",
        "callouts:read",
        "callouts:write",
        "users:read",
    ],
    "metadata": {
        "subscription_plan": "enterprise",
        "timezone": "America/Los_Angeles",
        "language": "en",
        "notes": "Promoted to senior role",
    },
}

UPDATE_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "user_123456789",
        "email": "john.doe@company.com",
        "name": "John Smith",
        "company": "Acme Corporation",
        "role": "senior_billing_manager",
        "department": "finance",
        "phone": "+1987654321",
        "account_id": "acc_789123456",
        "status": "active",
        "created_time": "2024-01-15T10:30:00Z",
        "updated_time": "2024-01-15T10:30:00Z",
        "last_login": "2024-01-20T09:15:00Z",
        "permissions": [
            "calls:read",
            "calls:write",
            "emails:read",
            "emails:write",
            "callouts:read",
            "callouts:write",
            "users:read",
        ],
        "activity_stats": {
            "total_calls_made": 45,
            "total_emails_sent": 120,
            "total_callouts_created": 8,
            "last_activity": "2024-01-20T09:15:00Z",
        },
        "metadata": {
            "subscription_plan": "enterprise",
            "timezone": "America/Los_Angeles",
            "language": "en",
            "notes": "Promoted to senior role",
        },
    },
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "message": "User updated successfully",
    },
}

# --- 2.14 DELETE /users/{id} --------------------------------------------------------------

DELETE_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "user_123456789",
        "deleted": True,
        "deleted_time": "2024-01-15T10:30:00Z",
        "deleted_items": {
            "user_account": True,
            "api_keys": 1,
            "activity_history": True,
            "associated_resources": {"calls": 45, "emails": 120, "callouts": 8},
        },
    },
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "message": "User deleted successfully",
    },
}

# --- Error envelope (1.4); the documented codes and messages of the users pages ---------------


def documented_error(code: str, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message},
        "meta": {"timestamp": "2024-01-15T10:30:00Z", "request_id": "req_123456789"},
    }


def assert_documented_error(response: httpx.Response, status: int, code: str, message: str) -> None:
    body = assert_error(response, status, code, message)
    assert_same_shape(body, documented_error(code, message))


async def documented_user(api: Api) -> dict[str, Any]:
    """The documented create request, sent with the admin key; its data (with ``api_key``)."""
    response = await api.client.post("/v1/users", json=CREATE_REQUEST, headers=ADMIN)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_create_user_documented_example(api: Api) -> None:
    response = await api.client.post("/v1/users", json=CREATE_REQUEST, headers=ADMIN)

    assert response.status_code == 201, response.text
    body = response.json()
    assert_same_shape(body, CREATE_RESPONSE)
    assert body["meta"]["message"] == "User created successfully"
    data = body["data"]
    for field in ("email", "name", "company", "role", "department", "phone", "metadata"):
        assert data[field] == CREATE_REQUEST[field], field
    assert data["status"] == "active"
    assert data["last_login"] is None
    assert data["api_key"].startswith("credira_sk_")


async def test_create_user_missing_email_is_documented_invalid_request(api: Api) -> None:
    body = {k: v for k, v in CREATE_REQUEST.items() if k != "email"}

    response = await api.client.post("/v1/users", json=body, headers=ADMIN)

    assert_documented_error(response, 400, "INVALID_REQUEST", "Missing required field: email")


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("credira_sk_not_a_real_key")],
    ids=["no-key", "unknown-key"],
)
async def test_create_user_without_credira_ai_key_is_documented_unauthorized(
    api: Api, headers: dict[str, str]
) -> None:
    response = await api.client.post("/v1/users", json=CREATE_REQUEST, headers=headers)

    assert_documented_error(response, 401, "UNAUTHORIZED", "Invalid or missing Credira AI key")


async def test_get_user_documented_example(api: Api) -> None:
    created = await documented_user(api)
    key = bearer(created["api_key"])
    # Use the key once, so last_login and last_activity hold times as in the example.
    assert (await api.client.get("/v1/invoices", headers=key)).status_code == 200

    response = await api.client.get(f"/v1/users/{created['id']}", headers=key)

    assert response.status_code == 200, response.text
    body = response.json()
    assert_same_shape(body, GET_RESPONSE)
    assert "message" not in body["meta"]
    assert "api_key" not in body["data"]
    assert body["data"]["id"] == created["id"]
    assert body["data"]["metadata"] == CREATE_REQUEST["metadata"]


async def test_update_user_documented_example(api: Api) -> None:
    created = await documented_user(api)
    manager = await member(api, created["account_id"], permissions=EVERY_PERMISSION)
    assert (await api.client.get("/v1/invoices", headers=bearer(created["api_key"]))).is_success

    response = await api.client.put(
        f"/v1/users/{created['id']}", json=UPDATE_REQUEST, headers=bearer(manager["api_key"])
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert_same_shape(body, UPDATE_RESPONSE)
    assert body["meta"]["message"] == "User updated successfully"
    assert "api_key" not in body["data"]
    data = body["data"]
    for field in ("name", "role", "department", "phone", "status", "permissions", "metadata"):
        assert data[field] == UPDATE_REQUEST[field], field
    assert data["email"] == CREATE_REQUEST["email"]
    assert data["updated_time"] >= data["created_time"]


async def test_delete_user_documented_example(api: Api) -> None:
    created = await documented_user(api)
    manager = await member(api, created["account_id"], permissions=EVERY_PERMISSION)

    response = await api.client.delete(
        f"/v1/users/{created['id']}", headers=bearer(manager["api_key"])
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert_same_shape(body, DELETE_RESPONSE)
    assert body["meta"]["message"] == "User deleted successfully"
    assert body["data"]["id"] == created["id"]
    assert body["data"]["deleted"] is True
    assert body["data"]["deleted_items"]["api_keys"] == 1


# method, path template, body, permissions of the caller when it is a colleague, FORBIDDEN text
ENDPOINTS = [
    pytest.param("GET", None, [], "You don't have permission to access this user", id="get"),
    pytest.param(
        "PUT",
        {"name": "Mallory"},
        ["users:read"],
        "You don't have permission to update this user",
        id="put",
    ),
    pytest.param(
        "DELETE",
        None,
        ["users:read"],
        "You don't have permission to delete this user",
        id="delete",
    ),
]


async def _unchanged(api: Api, user: dict[str, Any]) -> None:
    response = await api.client.get(f"/v1/users/{user['id']}", headers=bearer(user["api_key"]))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == user["name"]


@pytest.mark.parametrize(("method", "body", "perms", "forbidden"), ENDPOINTS)
async def test_user_endpoint_bad_id_format_is_documented_invalid_request(
    api: Api, method: str, body: dict[str, Any] | None, perms: list[str], forbidden: str
) -> None:
    user = await documented_user(api)
    manager = await member(api, user["account_id"], permissions=EVERY_PERMISSION)

    for headers in (bearer(manager["api_key"]), ADMIN):
        for bad in ("123456789", "usr_123456789", "user_12-34"):
            response = await api.client.request(
                method, f"/v1/users/{bad}", json=body, headers=headers
            )
            assert_documented_error(response, 400, "INVALID_REQUEST", "Invalid user ID format")
    await _unchanged(api, user)


UNAUTHENTICATED = [{}, bearer("credira_sk_not_a_real_key"), {"Authorization": "YOUR_API_KEY"}]


@pytest.mark.parametrize(("method", "body", "perms", "forbidden"), ENDPOINTS)
async def test_user_endpoint_without_key_is_documented_unauthorized(
    api: Api, method: str, body: dict[str, Any] | None, perms: list[str], forbidden: str
) -> None:
    user = await documented_user(api)

    for headers in UNAUTHENTICATED:
        response = await api.client.request(
            method, f"/v1/users/{user['id']}", json=body, headers=headers
        )
        assert_documented_error(response, 401, "UNAUTHORIZED", "Invalid or missing API key")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    await _unchanged(api, user)


@pytest.mark.parametrize(("method", "body", "perms", "forbidden"), ENDPOINTS)
async def test_user_endpoint_on_colleague_without_permission_is_documented_forbidden(
    api: Api, method: str, body: dict[str, Any] | None, perms: list[str], forbidden: str
) -> None:
    user = await documented_user(api)
    colleague = await member(api, user["account_id"], permissions=perms)

    response = await api.client.request(
        method, f"/v1/users/{user['id']}", json=body, headers=bearer(colleague["api_key"])
    )

    assert_documented_error(response, 403, "FORBIDDEN", forbidden)
    await _unchanged(api, user)


@pytest.mark.parametrize(("method", "body", "perms", "forbidden"), ENDPOINTS)
async def test_user_endpoint_on_unknown_user_is_documented_not_found(
    api: Api, method: str, body: dict[str, Any] | None, perms: list[str], forbidden: str
) -> None:
    user = await documented_user(api)
    stranger = (await api.tenant(company="Globex", permissions=EVERY_PERMISSION)).headers

    # A missing id and another account's user are indistinguishable.
    for target in ("user_123456789", user["id"]):
        response = await api.client.request(
            method, f"/v1/users/{target}", json=body, headers=stranger
        )
        assert_documented_error(response, 404, "NOT_FOUND", "User not found")
    await _unchanged(api, user)
