"""The webhook endpoints' API: the secret shown once and kept only encrypted, changes, other
accounts, permissions, validation; and the pure retry rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from credira.config import Settings
from credira.models import WebhookDelivery, WebhookEndpoint
from credira.secret.crypto import cipher_for
from credira.webhook.policy import Outcome, after, parse_retry_after, should_disable
from credira.wiring import assemble, build_deliverer
from tests.support import ADMIN_KEY, Api, bearer

URL = "https://hooks.example.com/credira"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=False,
    )


async def test_secret_is_shown_once_and_stored_only_encrypted(app: FastAPI, api: Api) -> None:
    tenant = await api.tenant()
    body = {"url": URL, "event_types": ["call.*", "callout.completed"], "description": "ERP"}
    key = {"Idempotency-Key": "hook-1"}
    created = (await tenant.ok("POST", "/v1/webhooks", json=body, headers=key))["data"]
    assert created["id"].startswith("whk_")
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True
    assert created["event_types"] == ["call.*", "callout.completed"]
    replay = await tenant.request("POST", "/v1/webhooks", json=body, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["data"]["secret"] is None

    shown = (await tenant.ok("GET", f"/v1/webhooks/{created['id']}"))["data"]
    assert "secret" not in shown
    listed = await tenant.ok("GET", "/v1/webhooks")
    assert listed["meta"]["total_webhooks"] == 1
    assert "secret" not in listed["data"][0]
    async with app.state.runtime.sessionmaker() as session:
        stored = await session.scalar(
            select(WebhookEndpoint.secret).where(WebhookEndpoint.id == created["id"])
        )
    assert stored is not None
    assert created["secret"].removeprefix("whsec_") not in stored
    assert cipher_for(app.state.runtime.settings).decrypt(stored) == created["secret"].encode()


async def test_update_disable_and_delete(api: Api) -> None:
    tenant = await api.tenant()
    hook = await tenant.created("/v1/webhooks", {"url": URL, "event_types": ["*"]})
    path = f"/v1/webhooks/{hook['id']}"
    changed = await tenant.ok(
        "PUT", path, json={"enabled": False, "event_types": ["invoice.*"], "description": None}
    )
    assert changed["data"]["enabled"] is False
    assert changed["data"]["event_types"] == ["invoice.*"]
    stale = await tenant.request("PUT", path, json={"enabled": True}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    deleted = await tenant.ok("DELETE", path)
    assert deleted["data"]["deleted"] is True
    assert (await tenant.request("GET", path)).status_code == 404


async def test_another_accounts_webhook_is_not_found(api: Api) -> None:
    mine = await api.tenant()
    theirs = await api.tenant("Globex")
    hook = await mine.created("/v1/webhooks", {"url": URL, "event_types": ["*"]})
    for method, suffix in (
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/test"),
        ("GET", "/deliveries"),
    ):
        reply = await theirs.request(method, f"/v1/webhooks/{hook['id']}{suffix}")
        assert reply.status_code == 404, (method, suffix, reply.text)
    assert (await theirs.ok("GET", "/v1/webhooks"))["data"] == []


async def test_permissions(api: Api) -> None:
    reader = await api.tenant(permissions=["webhooks:read"])
    refused = await reader.request("POST", "/v1/webhooks", json={"url": URL, "event_types": ["*"]})
    assert refused.status_code == 403
    assert (await reader.request("GET", "/v1/webhooks")).status_code == 200
    none = await api.tenant(permissions=["calls:read"])
    assert (await none.request("GET", "/v1/webhooks")).status_code == 403
    anonymous = await api.client.get("/v1/webhooks")
    assert anonymous.status_code == 401
    assert (await api.client.get("/v1/webhooks", headers=bearer("nope"))).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "event_types": ["*"]}, "url"),
        ({"url": "https://10.0.0.1/hook", "event_types": ["*"]}, "url"),
        ({"url": "http://[::1]:8080/hook", "event_types": ["*"]}, "url"),
        ({"url": URL, "event_types": ["call.exploded"]}, "event_types"),
        ({"url": URL, "event_types": []}, "event_types"),
    ],
)
async def test_invalid_webhooks_are_refused(api: Api, body: dict[str, object], field: str) -> None:
    tenant = await api.tenant()
    reply = await tenant.request("POST", "/v1/webhooks", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"].startswith(field)
    missing = await tenant.request("POST", "/v1/webhooks", json={"url": URL})
    assert missing.status_code == 400


# --- the retry rules --------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def test_svix_schedule_with_jitter_then_give_up() -> None:
    failed = Outcome(500, 10)
    rng = random.Random(7)
    for attempt, delay in enumerate(SCHEDULE, start=1):
        retry_at = after(failed, attempt, SCHEDULE, NOW, rng).retry_at
        assert retry_at is not None
        assert delay * 0.8 <= (retry_at - NOW).total_seconds() <= delay * 1.2
    assert after(failed, len(SCHEDULE) + 1, SCHEDULE, NOW, rng).retry_at is None
    assert after(Outcome(200, 10), 1, SCHEDULE, NOW).retry_at is None
    assert after(Outcome(None, 10, error="timed out"), 1, SCHEDULE, NOW).retry_at is not None
    assert after(Outcome(302, 10), 1, SCHEDULE, NOW).retry_at is not None  # not followed
    gone = after(Outcome(410, 10), 1, SCHEDULE, NOW)
    assert gone.gone
    assert gone.retry_at is None


def test_retry_after_replaces_the_schedule_when_throttled() -> None:
    throttled = Outcome(429, 10, retry_after=120.0)
    assert after(throttled, 1, SCHEDULE, NOW).retry_at == NOW + timedelta(seconds=120)
    assert parse_retry_after("30", NOW) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", NOW) == 60.0
    assert parse_retry_after("9999999", NOW) == 24 * 3600.0
    assert parse_retry_after("soon", NOW) is None


def test_an_endpoint_failing_for_five_days_is_disabled() -> None:
    assert not should_disable(None, NOW, 120)
    assert not should_disable(NOW - timedelta(hours=119), NOW, 120)
    assert should_disable(NOW - timedelta(hours=120), NOW, 120)


async def test_finished_deliveries_are_pruned_with_the_event_log(app: FastAPI, api: Api) -> None:
    tenant = await api.tenant()
    hook = await tenant.created("/v1/webhooks", {"url": URL, "event_types": ["*"]})
    sent = [(await tenant.request("POST", f"/v1/webhooks/{hook['id']}/test")).json() for _ in "ab"]
    old = datetime.now(UTC) - timedelta(days=31)
    async with app.state.engine.begin() as conn:
        await conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == sent[0]["data"]["delivery_id"])
            .values(status="delivered", updated_time=old)
        )
    settings = app.state.runtime.settings
    deliverer = build_deliverer(settings, assemble(settings, engine=app.state.engine), "w")
    assert await deliverer.prune() == 1
    await deliverer.sender.aclose()
    left = (await tenant.ok("GET", f"/v1/webhooks/{hook['id']}/deliveries"))["data"]
    assert [d["id"] for d in left] == [sent[1]["data"]["delivery_id"]]
