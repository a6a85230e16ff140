"""Deliveries as a receiver sees them: signed events for a callout's whole life, retries with
the same webhook-id, a dead endpoint beside a live one, the SSRF guard, rotation, 410, 429."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from standardwebhooks import Webhook, WebhookVerificationError

from credira.models import WebhookEndpoint
from tests.support import Api, Tenant, eventually, zone_in_calling_hours
from tests.webhook.receiver import Receiver, Reply


async def subscribe(tenant: Tenant, url: str, *types: str) -> dict[str, Any]:
    body = {"url": url, "event_types": list(types) or ["*"], "description": "test receiver"}
    return await tenant.created("/v1/webhooks", body)


async def deliveries(tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    reply = await tenant.ok("GET", f"/v1/webhooks/{webhook_id}/deliveries")
    data: list[dict[str, Any]] = reply["data"]
    return data


def verified(secret: str, received: Any) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


async def test_receiver_gets_a_callouts_whole_life_signed(api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver() as receiver:
        hook = await subscribe(tenant, receiver.url, "callout.*", "call.*")
        invoice = await tenant.invoice(
            customer={
                "name": "John Doe",
                "phone": "+14155550100",
                "timezone": zone_in_calling_hours(),
            }
        )
        agent = await tenant.agent()
        body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
        callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

        async def ended() -> bool:
            types = [json.loads(r.body)["type"] for r in receiver.received]
            return "callout.completed" in types and "call.completed" in types

        await eventually(ended, within=20)
        payloads = [verified(hook["secret"], r) for r in receiver.received]

    mine = [
        p
        for p in payloads
        if p["data"].get("callout_id") == callout["id"] or p["data"]["object_id"] == callout["id"]
    ]
    types = [p["type"] for p in mine if p["data"]["object_id"] == callout["id"]]
    assert types[0] == "callout.scheduled"
    assert types[-1] == "callout.completed"
    assert "callout.active" in types
    assert any(p["type"] == "call.completed" for p in mine)
    assert not any(p["type"].startswith("invoice.") for p in payloads)
    for received, sent in zip(receiver.received, payloads, strict=True):
        # The body is the event as GET /v1/events/{id} shows it; webhook-id is its id.
        assert received.headers["webhook-id"] == sent["data"]["id"]
        assert sent["timestamp"] == sent["data"]["created_time"]
        event = (await tenant.ok("GET", f"/v1/events/{sent['data']['id']}"))["data"]
        assert event == sent["data"]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(receiver.received[0].body, receiver.received[0].headers)


async def test_three_failures_then_success_is_four_attempts_with_one_webhook_id(api: Api) -> None:
    tenant = await api.tenant()

    def script(n: int) -> Reply:
        return Reply(500, body=f"broken {n}".encode()) if n < 3 else Reply(200, body=b"thanks")

    async with Receiver(script) as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        invoice = await tenant.invoice()

        async def delivered() -> list[dict[str, Any]] | None:
            found = await deliveries(tenant, hook["id"])
            return found if found and found[0]["status"] == "delivered" else None

        [delivery] = await eventually(delivered, within=15)

    assert len(receiver.received) == 4
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery["event_id"]}
    for received in receiver.received:
        assert verified(hook["secret"], received)["data"]["object_id"] == invoice["id"]
    assert delivery["attempt_count"] == 4
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 500, 200]
    assert [a["response"] for a in attempts] == ["broken 0", "broken 1", "broken 2", "thanks"]
    assert all(a["latency_ms"] >= 0 and a["time"].endswith("Z") for a in attempts)


async def test_rotation_signs_with_both_secrets_during_the_grace_period(api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver() as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        rotated = (await tenant.ok("POST", f"/v1/webhooks/{hook['id']}/rotate-secret"))["data"]
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != hook["secret"]
        await tenant.invoice()
        await eventually(lambda: asyncio.sleep(0, receiver.received), within=10)
        [received] = receiver.received
        assert len(received.headers["webhook-signature"].split(" ")) == 2
        verified(hook["secret"], received)
        verified(rotated["secret"], received)

        body = {"grace_seconds": 0}
        again = await tenant.ok("POST", f"/v1/webhooks/{hook['id']}/rotate-secret", json=body)
        await tenant.invoice()
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) == 2), within=10)
        last = receiver.received[1]
        assert len(last.headers["webhook-signature"].split(" ")) == 1
        verified(again["data"]["secret"], last)
        with pytest.raises(WebhookVerificationError):
            verified(rotated["secret"], last)


async def test_gone_disables_the_endpoint_and_says_so(api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver(lambda n: Reply(410, body=b"gone")) as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        await tenant.invoice()

        async def disabled() -> dict[str, Any] | None:
            data = (await tenant.ok("GET", f"/v1/webhooks/{hook['id']}"))["data"]
            return data if not data["enabled"] else None

        data = await eventually(disabled, within=10)
        await tenant.invoice()
        await asyncio.sleep(0.5)
        assert len(receiver.received) == 1
    assert "410" in data["disabled_reason"]
    events = (await tenant.ok("GET", "/v1/events", params={"type": "webhook.disabled"}))["data"]
    assert [e["object_id"] for e in events] == [hook["id"]]
    assert events[0]["data"]["enabled"] is False
    [delivery, *_] = await deliveries(tenant, hook["id"])
    assert delivery["status"] == "failed"


async def test_retry_after_is_honoured_on_429(api: Api) -> None:
    tenant = await api.tenant()

    def script(n: int) -> Reply:
        return Reply(429, {"Retry-After": "1"}) if n == 0 else Reply(200)

    async with Receiver(script) as receiver:
        await subscribe(tenant, receiver.url, "invoice.created")
        await tenant.invoice()
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) == 2), within=10)
    gap = receiver.received[1].at - receiver.received[0].at
    assert gap >= 0.95, gap  # the schedule alone says 0.2 s


async def test_test_event_and_manual_retry(api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver() as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        queued = await tenant.request("POST", f"/v1/webhooks/{hook['id']}/test")
        assert queued.status_code == 202, queued.text
        sent = queued.json()["data"]
        await eventually(lambda: asyncio.sleep(0, receiver.received), within=10)
        payload = verified(hook["secret"], receiver.received[0])
        assert payload["type"] == "webhook.test"
        assert payload["data"]["id"] == sent["event_id"]

        async def recorded() -> bool:
            # Until its attempt is written, the delivery is in flight: a retry is CONFLICT.
            [delivery] = await deliveries(tenant, hook["id"])
            return bool(delivery["status"] == "delivered")

        await eventually(recorded, within=10)
        path = f"/v1/webhooks/{hook['id']}/deliveries/{sent['delivery_id']}/retry"
        await tenant.ok("POST", path)
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) == 2), within=10)
        assert receiver.received[1].headers["webhook-id"] == sent["event_id"]

        async def twice() -> bool:
            [delivery] = await deliveries(tenant, hook["id"])
            return bool(delivery["attempt_count"] == 2)

        await eventually(twice, within=10)  # the attempt is written just after it is made


async def test_failing_for_five_days_disables_with_an_event(app: FastAPI, api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver(lambda n: Reply(503, body=b"down")) as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        # Its last success was long ago: the streak of failures began 5 days back.
        since = datetime.now(UTC) - timedelta(days=5, minutes=1)
        async with app.state.engine.begin() as conn:
            await conn.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == hook["id"])
                .values(failing_since=since)
            )
        await tenant.invoice()

        async def disabled() -> dict[str, Any] | None:
            data = (await tenant.ok("GET", f"/v1/webhooks/{hook['id']}"))["data"]
            return data if not data["enabled"] else None

        data = await eventually(disabled, within=10)
    assert data["disabled_reason"] == "deliveries failed without a success"
    assert len(receiver.received) == 1
    events = (await tenant.ok("GET", "/v1/events", params={"object_id": hook["id"]}))["data"]
    assert [e["type"] for e in events] == ["webhook.disabled"]


async def test_a_redirect_is_a_failure_and_is_not_followed(api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver() as elsewhere:
        moved = Reply(302, {"Location": elsewhere.url}, b"moved")
        async with Receiver(lambda n: moved) as receiver:
            hook = await subscribe(tenant, receiver.url, "invoice.created")
            await tenant.invoice()

            async def attempted() -> dict[str, Any] | None:
                found = await deliveries(tenant, hook["id"])
                return found[0] if found and found[0]["attempts"] else None

            delivery = await eventually(attempted, within=10)
        assert elsewhere.received == []
    assert {a["status_code"] for a in delivery["attempts"]} == {302}
    assert delivery["status"] != "delivered"


async def test_a_reply_holding_nul_is_kept_readable(api: Api) -> None:
    tenant = await api.tenant()

    def script(n: int) -> Reply:
        return Reply(500, body=b"bad\x00reply") if n == 0 else Reply(200)

    async with Receiver(script) as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        await tenant.invoice()

        async def delivered() -> dict[str, Any] | None:
            found = await deliveries(tenant, hook["id"])
            return found[0] if found and found[0]["status"] == "delivered" else None

        delivery = await eventually(delivered, within=10)
    assert [a["response"] for a in delivery["attempts"]] == ["bad\ufffdreply", "ok"]
