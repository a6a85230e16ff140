"""Every success reply is what ``/openapi.json`` declares: a scenario drives every operation of
the document (objects in their plain and their fullest shapes: a held callout, a finished call
with its transcript and recording, an opened and clicked email, an idempotent replay) and each
2xx JSON reply is validated against the operation's declared schema, in the app's own document.
An operation whose success is JSON and that the scenario never reached fails the guard.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jsonschema_rs import Draft202012Validator
from sqlalchemy import update

from credira.auth.permissions import ALL_PERMISSIONS
from credira.models import Call, Callout, Email, WebhookDelivery, WebhookEndpoint
from tests.support import Api

# Operations whose success is not JSON (a file, a page, an image, a redirect).
NOT_JSON = {
    ("GET", "/transcriptions/{name}"),
    ("GET", "/recordings/{name}"),
    ("GET", "/t/o/{token}.gif"),
    ("GET", "/t/c/{token}"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
}


class Replies:
    """Records every reply the client receives, to validate once the scenario is done."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, httpx.Response]] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        self.seen.append((request.method, request.url.path, response.status_code, response))


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def _template_of(path: str, templates: list[str]) -> str | None:
    for template in templates:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return template
    return None


def _json_schema(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    schema: dict[str, Any] | None = (
        response.get("content", {}).get("application/json", {}).get("schema")
    )
    return schema


async def _set(app: FastAPI, model: Any, object_id: str, **values: Any) -> None:
    """Give a row the fields only the worker writes (the API never sets them)."""
    async with app.state.engine.begin() as conn:
        await conn.execute(update(model).where(model.id == object_id).values(**values))


async def _scenario(app: FastAPI, api: Api) -> None:
    a = await api.tenant("Acme Corporation", permissions=list(ALL_PERMISSIONS))

    # Probes and the account.
    await a.ok("GET", "/health")
    await a.ok("GET", "/ready")
    await a.ok("GET", "/v1/account")
    await a.ok("PUT", "/v1/account/settings", json={"weekly_contacts": 5})
    twilio = {"account_sid": "AC" + "0" * 32, "auth_token": "t" * 32}
    await a.ok("PUT", "/v1/account/providers/twilio", json=twilio)
    await a.ok("GET", "/v1/account/providers")

    # Users: an idempotent replay of a creation shows the key as null.
    body = {"email": "bob@acme.example.com", "name": "Bob", "company": "Acme Corporation"}
    replay = {"Idempotency-Key": "bob-1"}
    bob = (await a.ok("POST", "/v1/users", json=body, headers=replay))["data"]
    again = await a.ok("POST", "/v1/users", json=body, headers=replay)
    assert again["data"]["api_key"] is None
    await a.ok("GET", "/v1/users")
    await a.ok("GET", f"/v1/users/{bob['id']}")
    await a.ok("PUT", f"/v1/users/{bob['id']}", json={"role": "Collector"})
    await a.ok("POST", f"/v1/users/{bob['id']}/rotate-key", json={"revoke_existing": False})
    await a.ok("DELETE", f"/v1/users/{bob['id']}")

    # Invoices and voice agents.
    invoice, agent, callout = await a.scenario()
    await a.ok("GET", "/v1/invoices")
    await a.ok("GET", f"/v1/invoices/{invoice['id']}")
    await a.ok(
        "PUT", f"/v1/invoices/{invoice['id']}", json={"payment_url": "https://pay.example.com/1"}
    )
    spare = await a.agent(name="Spare")
    await a.ok("GET", "/v1/voice-agents")
    await a.ok("GET", f"/v1/voice-agents/{agent['id']}")
    await a.ok("PUT", f"/v1/voice-agents/{agent['id']}", json={"voice": "nova"})
    await a.ok("DELETE", f"/v1/voice-agents/{spare['id']}")

    # Callouts: plain, held (next_attempt_time, hold_reason), cancelled, deleted.
    await a.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
    await a.ok("PUT", f"/v1/callouts/{callout['id']}", json={"priority": "low"})
    later = datetime.now(UTC) + timedelta(days=3)
    await _set(app, Callout, callout["id"], hold_reason="promise_to_pay", run_at=later)
    held = (await a.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
    assert "hold_reason" in held
    assert "next_attempt_time" in held
    other = await a.callout(invoice["id"], agent["id"])
    cancelled = await a.ok("POST", f"/v1/callouts/{other['id']}/cancel", json={"reason": "paid"})
    assert "completed_time" in cancelled["data"]
    await a.ok("DELETE", f"/v1/callouts/{other['id']}")

    # A call, then finished as the worker would finish it.
    call = await a.created(
        "/v1/calls",
        {
            "phone_number": "+14155550100",
            "invoice_id": invoice["id"],
            "voice_agent_id": agent["id"],
        },
    )
    now = datetime.now(UTC)
    await _set(
        app,
        Call,
        call["id"],
        status="completed",
        transcript="Agent: Hello\nCustomer: I will pay Friday",
        recording_path=str(app.state.runtime.settings.data_dir / f"{call['id']}.mp3"),
        placed_time=now,
        start_time=now,
        end_time=now + timedelta(seconds=75),
        duration=75,
        answered=True,
        outcome="promise_to_pay",
        confidence_score=0.9,
        sentiment_score=0.4,
        quality_score=0.8,
        keywords=["payment", "friday"],
        summary="Promised to pay on Friday",
        cost=Decimal("0.12"),
        currency="USD",
    )
    await a.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    detail = (await a.ok("GET", f"/v1/calls/{call['id']}"))["data"]

    # Templates and emails: one opened and clicked, one left unconfirmed and reconciled.
    templates = await a.ok("GET", "/v1/email-templates", params={"account_id": a.account_id})
    template_id = templates["data"][0]["id"]
    mine = await a.created(
        "/v1/email-templates",
        {
            "name": "Nudge",
            "subject": "Invoice {{ invoice_number }}",
            "html_content": "<p>Hello {{ customer_name }}</p>",
            "text_content": "Hello {{ customer_name }}",
            "category": "follow_up",
        },
    )
    await a.ok("GET", f"/v1/email-templates/{mine['id']}")
    await a.ok("PUT", f"/v1/email-templates/{mine['id']}", json={"status": "inactive"})
    await a.ok("DELETE", f"/v1/email-templates/{mine['id']}")
    emails = []
    for _ in range(2):
        sent = await a.created(
            "/v1/send-email",
            {
                "template_id": template_id,
                "recipient_email": "john.doe@example.com",
                "callout_id": detail["callout_id"],
            },
        )
        emails.append(sent["id"])
    await _set(
        app,
        Email,
        emails[0],
        status="delivered",
        sent_time=now,
        delivered_time=now,
        opened_time=now,
        clicked_time=now,
        smtp_reply="250 OK",
        attempt_count=1,
    )
    await _set(app, Email, emails[1], status="unconfirmed", sent_time=now, attempt_count=1)
    await a.ok("POST", f"/v1/emails/{emails[1]}/reconcile", json={"outcome": "delivered"})
    await a.ok("GET", "/v1/emails", params={"callout_id": detail["callout_id"]})
    await a.ok("GET", f"/v1/emails/{emails[0]}")
    report = await a.ok("GET", f"/v1/callouts/{detail['callout_id']}/response")
    assert {r["type"] for r in report["data"]["responses"]} == {"call", "email"}
    await a.ok("GET", f"/v1/callouts/{callout['id']}/response")

    # Collection plans: a plan, an invoice following it (paused and resumed), its schedule, a
    # preview, an import job.
    step = {
        "offset_days": 1,
        "channels": ["call", "email"],
        "voice_agent_id": agent["id"],
        "window_end": "12:00",
        "min_amount_due": "10.00",
    }
    plan = await a.created("/v1/collection-plans", {"name": "Cadence", "steps": [step]})
    await a.ok("GET", "/v1/collection-plans")
    await a.ok("GET", f"/v1/collection-plans/{plan['id']}")
    await a.ok("PUT", f"/v1/collection-plans/{plan['id']}", json={"min_gap_hours": 24})
    due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    preview = {"due_date": due, "phone": "+14155550100", "email": "ann@example.com"}
    await a.ok("POST", f"/v1/collection-plans/{plan['id']}/preview", json=preview)
    planned = await a.invoice(due_date=due, plan_id=plan["id"])
    await a.ok("GET", f"/v1/invoices/{planned['id']}/schedule")
    pause = {"until": "2099-01-01T00:00:00Z", "reason": "talking to the customer"}
    await a.ok("POST", f"/v1/invoices/{planned['id']}/pause", json=pause)
    await a.ok("POST", f"/v1/invoices/{planned['id']}/resume")
    csv = "number,amount,currency,due_date,customer_name\nIMP-1,10.00,USD,2030-01-01,Ann\n"
    headers = {"Content-Type": "text/csv"}
    queued = await a.request("POST", "/v1/invoices/import", content=csv, headers=headers)
    assert queued.status_code == 202, queued.text
    await a.ok("GET", f"/v1/invoices/import/{queued.json()['data']['id']}")
    spare_plan = await a.created("/v1/collection-plans", {"name": "Spare", "steps": [step]})
    await a.ok("DELETE", f"/v1/collection-plans/{spare_plan['id']}")

    # Events.
    events = await a.ok("GET", "/v1/events")
    await a.ok("GET", f"/v1/events/{events['data'][0]['id']}")

    # Webhooks: a replayed creation shows the secret as null; a delivery with its attempts.
    hook_body = {"url": "https://hooks.example.com/credira", "event_types": ["call.*"]}
    hook = await a.ok("POST", "/v1/webhooks", json=hook_body, headers={"Idempotency-Key": "h-1"})
    again = await a.ok("POST", "/v1/webhooks", json=hook_body, headers={"Idempotency-Key": "h-1"})
    assert again["data"]["secret"] is None
    hook_id = hook["data"]["id"]
    await a.ok("POST", f"/v1/webhooks/{hook_id}/rotate-secret", json={"grace_seconds": 60})
    await a.ok("PUT", f"/v1/webhooks/{hook_id}", json={"description": "ERP"})
    await _set(app, WebhookEndpoint, hook_id, enabled=False, disabled_reason="gone")
    await a.ok("GET", "/v1/webhooks")
    await a.ok("GET", f"/v1/webhooks/{hook_id}")
    queued = await a.request("POST", f"/v1/webhooks/{hook_id}/test")
    assert queued.status_code == 202, queued.text
    test = queued.json()["data"]
    attempt = {
        "time": "2024-01-25T14:00:00Z",
        "status_code": 500,
        "latency_ms": 12,
        "response": "oops",
        "error": None,
    }
    await _set(app, WebhookDelivery, test["delivery_id"], attempts=[attempt], attempt_count=1)
    await a.ok("GET", f"/v1/webhooks/{hook_id}/deliveries")
    await a.ok("POST", f"/v1/webhooks/{hook_id}/deliveries/{test['delivery_id']}/retry")
    await a.ok("DELETE", f"/v1/webhooks/{hook_id}")


@pytest.mark.asyncio
async def test_every_success_reply_matches_the_document(app: FastAPI, api: Api) -> None:
    replies = Replies()
    api.client.event_hooks = {"request": [], "response": [replies]}
    document = (await api.client.get("/openapi.json")).json()
    operations = _operations(document)
    templates = sorted({path for _, path in operations}, key=lambda p: p.count("{"))

    await _scenario(app, api)

    checked: set[tuple[str, str]] = set()
    for method, path, status, response in replies.seen:
        if not 200 <= status < 300 or path == "/openapi.json":
            continue
        template = _template_of(path, templates)
        assert template is not None, path
        operation = operations[(method, template)]
        schema = _json_schema(operation, status)
        assert schema is not None, f"{method} {template} declares no JSON reply for {status}"
        root = {"components": document["components"], **schema}
        errors = sorted(
            Draft202012Validator(root).iter_errors(response.json()),
            key=lambda e: list(e.instance_path),
        )
        assert not errors, f"{method} {template}: " + "; ".join(
            f"{list(e.instance_path)}: {e.message}" for e in errors[:5]
        )
        checked.add((method, template))

    json_operations = {key for key in operations if key not in NOT_JSON}
    assert operations.keys() >= NOT_JSON
    assert json_operations - checked == set()


@pytest.mark.asyncio
async def test_every_json_operation_declares_its_success_schema(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    for (method, path), operation in _operations(document).items():
        if (method, path) in NOT_JSON:
            continue
        successes = [s for s in operation["responses"] if s.startswith("2")]
        assert successes, (method, path)
        for status in successes:
            schema = _json_schema(operation, int(status))
            assert schema is not None, (method, path, status)
            assert "$ref" in schema, (method, path, status)
