"""The SDK against a running server, over a real socket: a callout's whole life through the
typed methods, pages walked by the iterators, errors as the classes of their codes, and
idempotency keys the server replays."""

from __future__ import annotations

import time
from typing import Any

import pytest

from credira.auth.permissions import ALL_PERMISSIONS
from credira_sdk import (
    AsyncClient,
    Client,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)
from credira_sdk.models import InvoiceCreate
from tests.sdk.conftest import new_key
from tests.support import zone_in_calling_hours


def invoice_body(number: str, phone: str = "+14155550100") -> InvoiceCreate:
    return {
        "number": number,
        "amount": "1250.00",
        "currency": "USD",
        "due_date": "2024-01-30",
        "customer": {
            "name": "John Doe",
            "email": "john.doe@example.com",
            "phone": phone,
            "timezone": zone_in_calling_hours(),
        },
    }


def wait_for(check: Any, *, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not met within {within}s")


def test_callout_runs_to_its_outcome_through_the_sync_client(base_url: str, api_key: str) -> None:
    with Client(api_key, base_url=base_url) as credira:
        invoice = credira.invoices.create(**invoice_body("INV-1"))
        agent = credira.voice_agents.create(name="Ava")
        callout = credira.callouts.create(
            invoice_id=invoice["id"],
            actions={"calls_enabled": True, "voice_agent_id": agent["id"]},
            metadata={"campaign": "q1"},
        )
        assert callout["status"] == "scheduled"

        done = wait_for(
            lambda: (c := credira.callouts.get(callout["id"]))["status"] == "completed" and c
        )
        assert done["metadata"] == {"campaign": "q1"}
        report = credira.callouts.response(callout["id"])
        assert report["callout_id"] == callout["id"]
        calls = credira.calls.list(invoice_id=invoice["id"])
        assert calls.total == 1
        assert calls.has_more is False
        call = credira.calls.get(calls.data[0]["id"])
        assert call["status"] == "completed"
        assert credira.calls.transcript(call["id"]).strip()
        kinds = [e["type"] for e in credira.events.iter(object_id=callout["id"], page_size=2)]
        assert kinds[0] == "callout.completed"
        assert kinds[-1] == "callout.scheduled"
        assert credira.account.get()["settings"]["max_call_attempts"] >= 1


def test_iterators_walk_every_page(base_url: str, api_key: str) -> None:
    with Client(api_key, base_url=base_url) as credira:
        made = [credira.invoices.create(**invoice_body(f"INV-{n}"))["id"] for n in range(5)]
        page = credira.invoices.list(limit=2)
        assert (len(page.data), page.has_more, page.total) == (2, True, 5)
        assert [i["id"] for i in credira.invoices.iter(page_size=2)] == made
        assert [i["number"] for i in credira.invoices.iter(number="INV-3")] == ["INV-3"]


def test_errors_are_the_classes_of_their_codes(base_url: str, api_key: str) -> None:
    with Client(api_key, base_url=base_url) as credira:
        with pytest.raises(NotFoundError) as missing:
            credira.invoices.get("inv_0000000000000000000000000")
        assert missing.value.status == 404
        assert missing.value.code == "NOT_FOUND"
        assert missing.value.message == "Invoice not found"
        assert str(missing.value.request_id).startswith("req_")

        body = invoice_body("INV-bad", phone="12345")
        with pytest.raises(ValidationError) as invalid:
            credira.invoices.create(**body)
        assert invalid.value.field == "customer.phone"
        assert invalid.value.details

        with pytest.raises(InvalidRequestError):
            credira.callouts.get("not-an-id")

        invoice = credira.invoices.create(idempotency_key="reused", **invoice_body("INV-3"))
        with pytest.raises(ConflictError):
            credira.invoices.create(idempotency_key="reused", **invoice_body("INV-4"))
        assert invoice["status"] == "open"

    with (
        Client("credira_sk_wrong", base_url=base_url) as stranger,
        pytest.raises(UnauthorizedError),
    ):
        stranger.account.get()


def test_a_post_retried_with_its_key_is_made_once(base_url: str, api_key: str) -> None:
    with Client(api_key, base_url=base_url) as credira:
        first = credira.invoices.create(idempotency_key="inv-key-1", **invoice_body("INV-9"))
        again = credira.invoices.create(idempotency_key="inv-key-1", **invoice_body("INV-9"))
        assert again == first
        assert credira.invoices.list().total == 1


async def test_the_async_client_does_the_same(base_url: str) -> None:
    key = new_key(base_url)
    async with AsyncClient(key, base_url=base_url) as credira:
        invoice = await credira.invoices.create(**invoice_body("INV-A"))
        updated = await credira.invoices.update(invoice["id"], payment_url="https://pay.example/1")
        assert updated["payment_url"] == "https://pay.example/1"
        agent = await credira.voice_agents.create(name="Ava")
        callout = await credira.callouts.create(
            invoice_id=invoice["id"],
            scheduled_time="2030-01-20T10:00:00Z",
            actions={"voice_agent_id": agent["id"]},
        )
        cancelled = await credira.callouts.cancel(callout["id"])
        assert cancelled["status"] == "cancelled"
        assert [c["id"] async for c in credira.callouts.iter(invoice_id=invoice["id"])] == [
            callout["id"]
        ]
        with pytest.raises(NotFoundError):
            await credira.voice_agents.get("agent_0000000000000000000000000")
        assert (await credira.health())["status"] == "ok"


def test_the_later_resources_answer_through_their_methods(base_url: str) -> None:
    key = new_key(base_url, permissions=list(ALL_PERMISSIONS))
    with Client(key, base_url=base_url) as credira:
        hook = credira.webhooks.create(url="https://receiver.example/h", event_types=["call.*"])
        assert str(hook["secret"]).startswith("whsec_")
        assert [h["id"] for h in credira.webhooks.iter()] == [hook["id"]]
        changed = credira.webhooks.update(hook["id"], description="ops")
        assert changed["description"] == "ops"
        rotated = credira.webhooks.rotate_secret(hook["id"], grace_seconds=60)
        assert rotated["secret"] != hook["secret"]
        credira.webhooks.test(hook["id"])
        assert credira.webhooks.deliveries(hook["id"]).total is not None
        assert credira.webhooks.delete(hook["id"])["deleted"] is True

        assert credira.providers.list().data
        agent = credira.voice_agents.create(name="Ava")
        plan = credira.collection_plans.create(
            name="Gentle",
            steps=[{"offset_days": 1, "channels": ["call"], "voice_agent_id": agent["id"]}],
        )
        assert credira.collection_plans.get(plan["id"])["name"] == "Gentle"
        assert credira.collection_plans.preview(plan["id"], due_date="2030-01-30")
        body = invoice_body("INV-P")
        body["due_date"] = "2030-01-30"  # the plan's steps are still to come
        body["plan_id"] = plan["id"]
        invoice = credira.invoices.create(**body)
        paused = credira.invoices.pause(invoice["id"], reason="talking to them")
        assert paused["id"] == invoice["id"]
        credira.invoices.resume(invoice["id"])
        assert credira.invoices.schedule(invoice["id"]) is not None
        job = credira.invoices.import_csv(
            "number,amount,currency,due_date,customer_name,customer_email,customer_phone\n"
            "INV-CSV-1,10.00,USD,2030-01-30,Ann,ann@example.com,+14155550100\n"
        )
        assert credira.invoices.import_job(job["id"])["id"] == job["id"]
