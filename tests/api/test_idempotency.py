"""``Idempotency-Key`` on every POST: replays, conflicts, per-account scope, races, bad keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from credira.auth.permissions import ALL_PERMISSIONS
from credira.models import IdempotencyRecord
from tests.support import ADMIN_KEY, Api, Tenant, bearer

Body = dict[str, Any]


def _invoice_body(number: str = "INV-IDEM-1", amount: str = "99.50") -> Body:
    return {
        "number": number,
        "amount": amount,
        "currency": "USD",
        "due_date": "2024-01-30",
        "customer": {"name": "Jane Roe", "email": "jane@example.com", "phone": "+14155550111"},
    }


@dataclass
class Target:
    """One POST endpoint prepared for a tenant: where to send, what, and how to count effects."""

    path: str
    body: Body
    other_body: Body
    send: Callable[[str, Body, dict[str, str]], Awaitable[httpx.Response]]
    count: Callable[[], Awaitable[Any]]


async def _tenant(api: Api) -> Tenant:
    # Every permission, so the same key can also list users.
    return await api.tenant(permissions=list(ALL_PERMISSIONS))


def _as(tenant: Tenant) -> Callable[[str, Body, dict[str, str]], Awaitable[httpx.Response]]:
    async def send(path: str, body: Body, headers: dict[str, str]) -> httpx.Response:
        return await tenant.request("POST", path, json=body, headers=headers)

    return send


def _as_admin(api: Api) -> Callable[[str, Body, dict[str, str]], Awaitable[httpx.Response]]:
    async def send(path: str, body: Body, headers: dict[str, str]) -> httpx.Response:
        return await api.client.post(path, json=body, headers={**bearer(ADMIN_KEY), **headers})

    return send


def _counter(tenant: Tenant, path: str, total: str) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        body = await tenant.ok("GET", path)
        return int(body["meta"][total])

    return count


async def _invoices(api: Api, tenant: Tenant) -> Target:
    return Target(
        "/v1/invoices",
        _invoice_body(),
        _invoice_body(amount="100.00"),
        _as(tenant),
        _counter(tenant, "/v1/invoices", "total_invoices"),
    )


async def _agents(api: Api, tenant: Tenant) -> Target:
    return Target(
        "/v1/voice-agents",
        {"name": "Idem"},
        {"name": "Other"},
        _as(tenant),
        _counter(tenant, "/v1/voice-agents", "total_voice_agents"),
    )


async def _callouts(api: Api, tenant: Tenant) -> Target:
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    body: Body = {
        "invoice_id": invoice["id"],
        "scheduled_time": "2030-01-20T10:00:00Z",
        "actions": {"calls_enabled": True, "emails_enabled": False, "voice_agent_id": agent["id"]},
    }
    return Target(
        "/v1/callouts",
        body,
        {**body, "priority": "urgent"},
        _as(tenant),
        _counter(tenant, f"/v1/callouts?invoice_id={invoice['id']}", "total_callouts"),
    )


async def _users(api: Api, tenant: Tenant) -> Target:
    body: Body = {
        "email": "idem@acme.example.com",
        "name": "Idem Potent",
        "company": "Acme Corporation",
        "account_id": tenant.account_id,
    }
    return Target(
        "/v1/users",
        body,
        {**body, "name": "Someone Else"},
        _as_admin(api),
        _counter(tenant, "/v1/users", "total_users"),
    )


async def _cancel(api: Api, tenant: Tenant) -> Target:
    invoice, _agent, callout = await tenant.scenario()

    async def count() -> tuple[int, str]:
        listed = await tenant.ok("GET", f"/v1/callouts?invoice_id={invoice['id']}")
        one = await tenant.ok("GET", f"/v1/callouts/{callout['id']}")
        return listed["meta"]["total_callouts"], one["data"]["updated_time"]

    return Target(
        f"/v1/callouts/{callout['id']}/cancel",
        {"reason": "customer paid by phone"},
        {"reason": "something else"},
        _as(tenant),
        count,
    )


TARGETS: dict[str, Callable[[Api, Tenant], Awaitable[Target]]] = {
    "invoice": _invoices,
    "voice_agent": _agents,
    "callout": _callouts,
    "user_by_admin": _users,
    "callout_cancel": _cancel,
}
CREATES = [name for name in TARGETS if name != "callout_cancel"]


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


@pytest.mark.parametrize("kind", list(TARGETS))
async def test_same_key_replays_the_reply_and_refuses_another_body(api: Api, kind: str) -> None:
    tenant = await _tenant(api)
    target = await TARGETS[kind](api, tenant)

    first = await target.send(target.path, target.body, key("k-replay-1"))
    assert first.status_code in (200, 201), first.text
    assert "idempotent-replayed" not in first.headers
    after_first = await target.count()

    replay = await target.send(target.path, target.body, key("k-replay-1"))
    assert replay.status_code == first.status_code
    if kind == "user_by_admin":
        # The new API key is shown once (see the test below); the rest replays as it was.
        assert replay.json()["data"] == {**first.json()["data"], "api_key": None}
    else:
        assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["content-type"].startswith("application/json")
    assert await target.count() == after_first

    reused = await target.send(target.path, target.other_body, key("k-replay-1"))
    assert reused.status_code == 409, reused.text
    body = reused.json()
    assert body["success"] is False
    assert body["error"]["code"] == "CONFLICT"
    assert "Idempotency-Key" in body["error"]["message"]
    assert await target.count() == after_first


async def test_replay_of_cancel_answers_where_a_plain_retry_conflicts(api: Api) -> None:
    tenant = await _tenant(api)
    _invoice, _agent, callout = await tenant.scenario()
    path = f"/v1/callouts/{callout['id']}/cancel"
    first = await tenant.request("POST", path, json={}, headers=key("cancel-1"))
    assert first.status_code == 200, first.text

    replay = await tenant.request("POST", path, json={}, headers=key("cancel-1"))
    plain = await tenant.request("POST", path, json={})

    assert replay.status_code == 200
    assert replay.json()["data"]["status"] == "cancelled"
    assert plain.status_code == 409
    assert plain.json()["error"]["code"] == "CONFLICT"


async def test_same_key_in_another_account_gets_its_own_result(api: Api) -> None:
    tenant_a = await _tenant(api)
    tenant_b = await _tenant(api)
    body = _invoice_body()
    a = await tenant_a.request("POST", "/v1/invoices", json=body, headers=key("shared-key"))
    b = await tenant_b.request("POST", "/v1/invoices", json=body, headers=key("shared-key"))

    assert a.status_code == b.status_code == 201, b.text
    assert "idempotent-replayed" not in b.headers
    assert b.json()["data"]["id"] != a.json()["data"]["id"]
    assert b.json()["data"]["account_id"] == tenant_b.account_id
    for tenant in (tenant_a, tenant_b):
        listed = await tenant.ok("GET", "/v1/invoices")
        assert listed["meta"]["total_invoices"] == 1


async def test_same_key_with_another_body_in_another_account_is_not_a_conflict(api: Api) -> None:
    tenant_a = await _tenant(api)
    tenant_b = await _tenant(api)
    await tenant_a.ok("POST", "/v1/voice-agents", json={"name": "A"}, headers=key("agent-key"))
    b = await tenant_b.request(
        "POST", "/v1/voice-agents", json={"name": "B"}, headers=key("agent-key")
    )
    assert b.status_code == 201, b.text
    assert b.json()["data"]["name"] == "B"


@pytest.mark.parametrize(
    ("bad_body", "status", "code"),
    [
        pytest.param(_invoice_body(amount="12.345"), 422, "VALIDATION_ERROR", id="bad_amount"),
        pytest.param({**_invoice_body(), "colour": "red"}, 400, "INVALID_REQUEST", id="unknown"),
        pytest.param(
            {**_invoice_body(), "customer": {"name": "X", "phone": "555"}},
            422,
            "VALIDATION_ERROR",
            id="bad_phone",
        ),
    ],
)
async def test_failed_request_is_not_stored_so_corrected_retry_succeeds(
    api: Api, bad_body: Body, status: int, code: str
) -> None:
    tenant = await _tenant(api)
    failed = await tenant.request("POST", "/v1/invoices", json=bad_body, headers=key("fix-me"))
    assert failed.status_code == status, failed.text
    assert failed.json()["error"]["code"] == code

    retry = await tenant.request(
        "POST", "/v1/invoices", json=_invoice_body(), headers=key("fix-me")
    )

    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    listed = await tenant.ok("GET", "/v1/invoices")
    assert listed["meta"]["total_invoices"] == 1


async def test_domain_error_is_not_stored_so_retry_after_fix_succeeds(api: Api) -> None:
    tenant = await _tenant(api)
    invoice = await tenant.invoice()
    body: Body = {
        "invoice_id": invoice["id"],
        "actions": {
            "calls_enabled": True,
            "emails_enabled": False,
            "voice_agent_id": "agent_doesnotexist000000",
        },
    }
    failed = await tenant.request("POST", "/v1/callouts", json=body, headers=key("agent-later"))
    assert failed.status_code in (404, 422), failed.text

    agent = await tenant.agent()
    body["actions"]["voice_agent_id"] = agent["id"]
    retry = await tenant.request("POST", "/v1/callouts", json=body, headers=key("agent-later"))

    assert retry.status_code == 201, retry.text
    listed = await tenant.ok("GET", f"/v1/callouts?invoice_id={invoice['id']}")
    assert listed["meta"]["total_callouts"] == 1


@pytest.mark.parametrize("kind", CREATES)
async def test_concurrent_requests_with_one_key_create_one_object(api: Api, kind: str) -> None:
    tenant = await _tenant(api)
    target = await TARGETS[kind](api, tenant)
    before = await target.count()

    replies = await asyncio.gather(
        target.send(target.path, target.body, key("race")),
        target.send(target.path, target.body, key("race")),
    )

    for reply in replies:
        assert reply.status_code == 201, reply.text
    ids = {reply.json()["data"]["id"] for reply in replies}
    assert len(ids) == 1
    assert await target.count() == before + 1


@pytest.mark.parametrize(
    "value",
    [pytest.param("", id="empty"), pytest.param("k" * 300, id="300_chars")],
)
async def test_invalid_key_is_refused_and_creates_nothing(api: Api, value: str) -> None:
    tenant = await _tenant(api)
    reply = await tenant.request("POST", "/v1/invoices", json=_invoice_body(), headers=key(value))

    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert "Idempotency-Key" in error["message"]
    listed = await tenant.ok("GET", "/v1/invoices")
    assert listed["meta"]["total_invoices"] == 0


async def test_longest_allowed_key_works(api: Api) -> None:
    tenant = await _tenant(api)
    long_key = key("k" * 255)
    first = await tenant.request("POST", "/v1/voice-agents", json={"name": "A"}, headers=long_key)
    replay = await tenant.request("POST", "/v1/voice-agents", json={"name": "A"}, headers=long_key)
    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content


async def test_a_replayed_user_creation_does_not_reveal_the_key_again(
    api: Api, app: FastAPI
) -> None:
    """API keys exist only as hashes: the stored reply holds no key, and a replay says so."""
    idem = "f3b7c1e2-5d4a-4c8e-9f0b-1a2b3c4d5e6f"
    body = {"email": "secret@acme.example.com", "name": "Sec Ret", "company": "Acme"}
    first = await api.client.post(
        "/v1/users", json=body, headers={**bearer(ADMIN_KEY), **key(idem)}
    )
    assert first.status_code == 201, first.text
    api_key = first.json()["data"]["api_key"]

    async with app.state.runtime.sessionmaker() as session:
        rows = (await session.execute(select(IdempotencyRecord))).scalars().all()
    stored = b"".join(
        b"|".join((r.scope.encode(), r.key.encode(), bytes(r.response_body))) for r in rows
    )
    assert len(rows) == 1
    for secret in (api_key, idem):
        assert secret.encode() not in stored

    replay = await api.client.post(
        "/v1/users", json=body, headers={**bearer(ADMIN_KEY), **key(idem)}
    )
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    replayed, original = replay.json(), first.json()
    assert replayed["data"]["api_key"] is None
    assert "shown only once" in replayed["meta"]["message"]
    assert {k: v for k, v in replayed["data"].items() if k != "api_key"} == {
        k: v for k, v in original["data"].items() if k != "api_key"
    }
