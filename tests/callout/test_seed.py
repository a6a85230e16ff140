"""The seed: PUT /v1/callouts/{id} answers exactly as the seed shows, and each of its five error
replies can be produced for real."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.callout.helpers import TIME_RE, load_seed, parse_time, set_status
from tests.shapes import assert_same_shape
from tests.support import Api, Tenant

SEED = load_seed()
SEED_ERRORS = {e["error"]["code"]: e for e in SEED.errors}


def seed_body(agent_id: str) -> dict[str, Any]:
    body = copy.deepcopy(SEED.request_body)
    body["actions"]["voice_agent_id"] = agent_id
    return body


def assert_seed_error(response: httpx.Response, code: str, status: int) -> dict[str, Any]:
    """The reply is the seed's error envelope for ``code``, key for key, with a fresh request id."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert_same_shape(body, SEED_ERRORS[code])
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert TIME_RE.fullmatch(body["meta"]["timestamp"])
    assert body["meta"]["request_id"].startswith("req_")
    assert response.headers["X-Request-ID"] == body["meta"]["request_id"]
    return body


async def unchanged(tenant: Tenant, callout: dict[str, Any]) -> None:
    """After a refused write the callout reads as it did before."""
    current = await tenant.ok("GET", f"/v1/callouts/{callout['id']}")
    assert current["data"] == callout


def test_seed_file_holds_the_request_the_reply_and_five_errors() -> None:
    assert SEED.curl.startswith("curl --request PUT")
    assert set(SEED.request_body) == {
        "scheduled_time",
        "actions",
        "priority",
        "target_contact",
        "metadata",
    }
    assert SEED.reply["meta"]["message"] == "Callout updated successfully"
    assert sorted(SEED_ERRORS) == [
        "CONFLICT",
        "FORBIDDEN",
        "INVALID_REQUEST",
        "NOT_FOUND",
        "UNAUTHORIZED",
    ]


async def test_seed_request_returns_the_seed_reply_shape(api: Api) -> None:
    tenant = await api.tenant()
    invoice, _agent, callout = await tenant.scenario()
    agent = await tenant.agent(name="Seed agent")
    body = seed_body(agent["id"])

    response = await tenant.request("PUT", f"/v1/callouts/{callout['id']}", json=body)

    assert response.status_code == 200, response.text
    reply = response.json()
    assert_same_shape(reply, SEED.reply)
    meta = reply["meta"]
    assert set(meta) == {"timestamp", "request_id", "message"}
    assert TIME_RE.fullmatch(meta["timestamp"])
    assert meta["request_id"].startswith("req_")
    assert response.headers["X-Request-ID"] == meta["request_id"]
    assert meta["message"] == "Callout updated successfully"

    data = reply["data"]
    # Ids and times are ours; the values sent come back as sent.
    assert data["id"] == callout["id"]
    assert data["invoice_id"] == invoice["id"]
    assert data["account_id"] == tenant.account_id
    assert data["status"] == "scheduled"
    assert data["type"] == "payment_reminder"
    assert data["scheduled_time"] == body["scheduled_time"]
    assert data["actions"] == body["actions"]
    assert data["priority"] == body["priority"]
    assert data["target_contact"] == body["target_contact"]
    # Metadata keys merge: the seed sends every key the callout had, and one more.
    assert data["metadata"] == body["metadata"]
    assert data["created_time"] == callout["created_time"]
    # Unlike the seed's own example, updated_time is never before created_time.
    assert parse_time(data["updated_time"]) >= parse_time(data["created_time"])

    # The change is stored, not only echoed.
    assert (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"] == data


@pytest.mark.parametrize(
    ("path_id", "content", "message"),
    [
        ("callout_has-dashes", None, "Invalid callout ID format"),
        ("inv_123456789", None, "Invalid callout ID format"),
        (None, b"[1, 2, 3]", "Request body must be a JSON object"),
        (None, b'{"priority": "high", "colour": "red"}', "Unknown field: colour"),
        (None, b'{"status": "completed"}', "Field status cannot be updated"),
    ],
    ids=["bad-id-characters", "wrong-id-prefix", "array-body", "unknown-field", "read-only-field"],
)
async def test_seed_invalid_request(
    api: Api, path_id: str | None, content: bytes | None, message: str
) -> None:
    tenant = await api.tenant()
    _invoice, agent, callout = await tenant.scenario()
    payload = content if content is not None else json.dumps(seed_body(agent["id"])).encode()
    response = await tenant.request(
        "PUT",
        f"/v1/callouts/{path_id or callout['id']}",
        content=payload,
        headers={"Content-Type": "application/json"},
    )
    body = assert_seed_error(response, "INVALID_REQUEST", 400)
    assert body["error"]["message"] == message
    await unchanged(tenant, callout)


async def test_seed_invalid_request_for_malformed_json(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    response = await tenant.request(
        "PUT",
        f"/v1/callouts/{callout['id']}",
        content=b'{"priority": "high",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    # The parser's reason rides in error.details, which API.md allows on any error.
    assert_same_shape(body, SEED_ERRORS["INVALID_REQUEST"], optional=frozenset({"$.error.details"}))
    assert body["error"]["code"] == "INVALID_REQUEST"
    assert body["error"]["message"] == "Malformed JSON in request body"
    assert response.headers["X-Request-ID"] == body["meta"]["request_id"]
    await unchanged(tenant, callout)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer credira_sk_not-a-real-key", "Basic dXNlcjpwYXNz"],
    ids=["no-key", "wrong-key", "other-scheme"],
)
async def test_seed_unauthorized(api: Api, authorization: str | None) -> None:
    tenant = await api.tenant()
    _invoice, agent, callout = await tenant.scenario()
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await api.client.put(
        f"/v1/callouts/{callout['id']}", json=seed_body(agent["id"]), headers=headers
    )
    body = assert_seed_error(response, "UNAUTHORIZED", 401)
    assert body["error"]["message"] == SEED_ERRORS["UNAUTHORIZED"]["error"]["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    await unchanged(tenant, callout)


@pytest.mark.parametrize(
    "permissions",
    [["callouts:read"], ["calls:read", "calls:write", "invoices:write"]],
    ids=["read-only", "other-resources"],
)
async def test_seed_forbidden(api: Api, permissions: list[str]) -> None:
    tenant = await api.tenant()
    _invoice, agent, callout = await tenant.scenario()
    reader = await api.tenant(account_id=tenant.account_id, permissions=permissions)
    response = await reader.request(
        "PUT", f"/v1/callouts/{callout['id']}", json=seed_body(agent["id"])
    )
    body = assert_seed_error(response, "FORBIDDEN", 403)
    assert body["error"]["message"] == "You don't have permission to update this callout"
    assert body["error"]["message"] == SEED_ERRORS["FORBIDDEN"]["error"]["message"]
    await unchanged(tenant, callout)


@pytest.mark.parametrize("whose", ["unknown", "another-account"])
async def test_seed_not_found(api: Api, whose: str) -> None:
    tenant = await api.tenant()
    _invoice, agent, callout = await tenant.scenario()
    target = "callout_123456789"
    if whose == "another-account":
        stranger = await api.tenant(company="Globex")
        _i, _a, theirs = await stranger.scenario()
        target = theirs["id"]
    response = await tenant.request("PUT", f"/v1/callouts/{target}", json=seed_body(agent["id"]))
    body = assert_seed_error(response, "NOT_FOUND", 404)
    assert body["error"]["message"] == "Callout not found"
    assert body["error"]["message"] == SEED_ERRORS["NOT_FOUND"]["error"]["message"]
    await unchanged(tenant, callout)


async def test_seed_conflict_for_an_active_callout(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    _invoice, agent, callout = await tenant.scenario()
    await set_status(app, callout["id"], "active")
    before = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
    assert before["status"] == "active"

    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json=seed_body(agent["id"])
    )

    body = assert_seed_error(response, "CONFLICT", 409)
    assert body["error"]["message"] == "Cannot update callout that is currently active"
    assert body["error"]["message"] == SEED_ERRORS["CONFLICT"]["error"]["message"]
    await unchanged(tenant, before)
