"""An email's events, read from ``GET /v1/events?object_id=``: exactly its changes, in order,
the last one's ``data`` being the email as ``GET /v1/emails/{id}`` shows it; delivered, bounced,
deferred, refused by the contact rules, unconfirmed and reconciled, opened, clicked and
unsubscribed; and a change whose transaction rolls back leaves no event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update
from sqlalchemy.engine import Engine

from credira.models import Email
from tests.email_e2e.helpers import (
    PUBLIC_URL,
    Mail,
    bodies,
    callout_settles,
    documented_request,
    email_settles,
    get_email,
    header,
    new_address,
    send,
    template_id,
    tenant_with_callout,
)
from tests.support import Api, Tenant, eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


PIXEL = re.compile(r'<img src="(?P<url>[^"]+/t/o/[^"]+\.gif)"')
CLICK = re.compile(r'href="(?P<url>[^"]+/t/c/[^"]+)"')


def request_for(template: str, recipient: str) -> dict[str, Any]:
    """A send-email request without a callout; the pay button links to a tracked target."""
    return {
        "template_id": template,
        "recipient_email": recipient,
        "recipient_name": "John Doe",
        "variables": {
            "customer_name": "John Doe",
            "invoice_number": "INV-001",
            "amount": "$1,250.00",
            "due_date": "2024-01-30",
            "payment_link": "https://pay.example.com/invoices/INV-001",
        },
    }


def link(pattern: re.Pattern[str], markup: str) -> str:
    """A link of ours in the received HTML, as a path for the test client (the app at
    PUBLIC_URL)."""
    found = pattern.search(markup)
    assert found is not None, markup
    url = found["url"].replace("&amp;", "&")
    assert url.startswith(PUBLIC_URL + "/"), url
    return url.removeprefix(PUBLIC_URL)


def unsubscribe_link(message: Any) -> str:
    url = header(message, "List-Unsubscribe")[1:-1]
    assert url.startswith(PUBLIC_URL + "/"), url
    return url.removeprefix(PUBLIC_URL)


async def events_of(tenant: Tenant, object_id: str) -> list[dict[str, Any]]:
    """The object's events, newest first (as the API lists them)."""
    body = await tenant.ok("GET", "/v1/events", params={"object_id": object_id})
    events: list[dict[str, Any]] = body["data"]
    assert body["meta"]["total_events"] == len(events)
    return events


async def history(tenant: Tenant, email_id: str) -> list[str]:
    """The email's event types, oldest first; the newest one's data is the email as shown."""
    events = await events_of(tenant, email_id)
    assert events, "no events"
    assert events[0]["data"] == await get_email(tenant, email_id)
    for item in events:
        assert item["object_id"] == email_id
        assert item["id"].startswith("evt_")
    # Newest first: ids (and times) only go down.
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    return [e["type"] for e in reversed(events)]


async def history_reaches(tenant: Tenant, email_id: str, count: int) -> list[str]:
    """The email's history once it holds ``count`` events (the worker is at work)."""

    async def check() -> bool:
        return len(await events_of(tenant, email_id)) >= count

    await eventually(check)
    return await history(tenant, email_id)


async def delivered(api: Api, recipient: str | None = None) -> tuple[Tenant, str, str]:
    """A new account's email, sent through ``POST /send-email`` and delivered: the tenant, the
    email's id and the HTML received."""
    tenant = await api.tenant()
    await tenant.invoice()  # the key's first use is a write: see ``tenant_with_callout``
    recipient = recipient or new_address()
    sent = await send(tenant, request_for(await template_id(tenant), recipient))
    email = await email_settles(tenant, sent["id"])
    assert email["status"] == "delivered", email
    return tenant, sent["id"], recipient


@contextmanager
def failing(app: FastAPI, table: str) -> Iterator[list[str]]:
    """Every insert into ``table`` by the app's write sessions raises (an injected fault), until
    the block ends; the list collects the statements refused."""
    engine: Engine = app.state.runtime.sessionmaker.kw["bind"].sync_engine
    insert = re.compile(rf'^\s*INSERT\b[^(]*\bINTO\s+"?{table}"?\s', re.IGNORECASE)
    refused: list[str] = []

    def fault(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if insert.match(sql):
            refused.append(sql)
            raise RuntimeError(f"injected fault: insert into {table}")

    event.listen(engine, "before_cursor_execute", fault)
    try:
        yield refused
    finally:
        event.remove(engine, "before_cursor_execute", fault)


# -- the status changes ---------------------------------------------------------------------


async def test_a_delivered_email_shows_scheduled_sent_delivered(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()

    sent = await send(tenant, documented_request(template, callout_id, recipient))
    await email_settles(tenant, sent["id"])

    assert await history(tenant, sent["id"]) == ["email.scheduled", "email.sent", "email.delivered"]
    delivered_event, sent_event, scheduled = await events_of(tenant, sent["id"])
    callout = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
    for item in (scheduled, sent_event, delivered_event):
        assert item["callout_id"] == callout_id
        assert item["invoice_id"] == callout["invoice_id"]
    # Each event's data is the email right after its change.
    assert scheduled["data"]["status"] == "scheduled"
    assert scheduled["data"]["attempts"] == 0
    assert scheduled["data"]["sent_time"] is None
    shared = set(sent) & set(scheduled["data"])
    assert shared == set(sent) - {"estimated_delivery"}
    assert {k: scheduled["data"][k] for k in shared} == {k: sent[k] for k in shared}
    assert sent_event["data"]["status"] == "sent"
    assert sent_event["data"]["attempts"] == 1
    assert sent_event["data"]["sent_time"] is not None
    assert sent_event["data"]["delivered_time"] is None
    assert delivered_event["data"]["status"] == "delivered"
    assert delivered_event["data"]["smtp_reply"].startswith("250")
    # One event by id, and the type filter.
    one = await tenant.ok("GET", f"/v1/events/{sent_event['id']}")
    assert one["data"] == sent_event
    listed = await tenant.ok(
        "GET", "/v1/events", params={"object_id": sent["id"], "type": "email.sent"}
    )
    assert [e["id"] for e in listed["data"]] == [sent_event["id"]]


async def test_an_email_without_a_callout_has_events_without_relations(
    api: Api, mail: Mail
) -> None:
    tenant, email_id, _ = await delivered(api)

    events = await events_of(tenant, email_id)

    assert [e["type"] for e in events] == ["email.delivered", "email.sent", "email.scheduled"]
    for item in events:
        assert "callout_id" not in item
        assert "invoice_id" not in item


async def test_a_callouts_email_shows_its_events_with_the_callout(api: Api, mail: Mail) -> None:
    tenant = await api.tenant()
    recipient = new_address()
    invoice = await tenant.invoice(
        customer={
            "name": "John Doe",
            "email": recipient,
            "phone": "+14155550100",
            "timezone": "America/New_York",
        }
    )
    callout = await tenant.ok(
        "POST",
        "/v1/callouts",
        json={
            "invoice_id": invoice["id"],
            "actions": {"calls_enabled": False, "emails_enabled": True},
        },
    )
    callout_id = callout["data"]["id"]
    assert (await callout_settles(tenant, callout_id))["status"] == "completed"
    [email] = (await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id}))["data"]

    assert await history(tenant, email["id"]) == [
        "email.scheduled",
        "email.sent",
        "email.delivered",
    ]
    for item in await events_of(tenant, email["id"]):
        assert (item["callout_id"], item["invoice_id"]) == (callout_id, invoice["id"])
    # The invoice's events hold the email's too.
    of_invoice = await tenant.ok(
        "GET", "/v1/events", params={"invoice_id": invoice["id"], "type": "email.*"}
    )
    assert [e["object_id"] for e in of_invoice["data"]] == [email["id"]] * 3


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # Refused with the message itself: it had gone past the point of no return.
        ("DATA", ["email.scheduled", "email.sent", "email.bounced"]),
        # Refused with the recipient: the message never went.
        ("RCPT", ["email.scheduled", "email.bounced"]),
    ],
)
async def test_a_permanent_refusal_shows_the_bounce(
    api: Api, mail: Mail, command: str, expected: list[str]
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    mail.server.handler.script(command, "550 5.1.1 Mailbox does not exist")

    sent = await send(tenant, documented_request(template, callout_id, new_address()))
    email = await email_settles(tenant, sent["id"])

    assert email["status"] == "bounced"
    assert await history(tenant, sent["id"]) == expected
    [bounce, *_] = await events_of(tenant, sent["id"])
    assert bounce["data"]["bounced"] is True
    assert "550" in bounce["data"]["smtp_reply"]


async def test_a_deferred_email_shows_its_retry(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    mail.server.handler.script("DATA", "451 4.3.0 Try again later")
    sent = await send(tenant, documented_request(template, callout_id, new_address()))

    deferred = await history_reaches(tenant, sent["id"], 3)
    assert deferred == ["email.scheduled", "email.sent", "email.scheduled"]
    [retry, *_] = await events_of(tenant, sent["id"])
    assert "451" in retry["data"]["status_reason"]

    await mail.make_due(sent["id"])
    await email_settles(tenant, sent["id"])

    assert await history(tenant, sent["id"]) == [
        "email.scheduled",
        "email.sent",
        "email.scheduled",
        "email.sent",
        "email.delivered",
    ]


async def test_an_email_to_an_address_that_unsubscribed_meanwhile_fails(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    recipient = new_address()
    tenant, first_id, _ = await delivered(api, recipient)
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    body = request_for(await template_id(tenant), recipient)
    waiting = await send(tenant, {**body, "scheduled_time": later.isoformat()})
    [message] = mail.to(recipient)
    unsubscribe = unsubscribe_link(message)
    assert (await client.post(unsubscribe)).status_code == 200

    await mail.make_due(waiting["id"])
    email = await email_settles(tenant, waiting["id"])

    assert email["status"] == "failed"
    assert await history(tenant, waiting["id"]) == ["email.scheduled", "email.failed"]
    assert (await history(tenant, first_id))[-1] == "email.unsubscribed"


async def test_an_email_about_an_invoice_paid_meanwhile_is_cancelled(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    body = documented_request(template, callout_id, new_address())
    waiting = await send(tenant, {**body, "scheduled_time": later.isoformat()})
    invoice_id = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]["invoice_id"]
    await tenant.ok("PUT", f"/v1/invoices/{invoice_id}", json={"status": "paid"})

    await mail.make_due(waiting["id"])
    email = await email_settles(tenant, waiting["id"])

    assert email["status"] == "cancelled"
    assert await history(tenant, waiting["id"]) == ["email.scheduled", "email.cancelled"]


async def test_an_unconfirmed_email_reconciled_shows_every_step(
    app: FastAPI, api: Api, mail: Mail
) -> None:
    tenant, email_id, recipient = await delivered(api)
    # As a worker that died after the hand-over leaves it: sent, its lease expired.
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Email)
            .where(Email.id == email_id)
            .values(
                status="sent",
                delivered_time=None,
                lease_owner="dead-worker",
                lease_expires=datetime.now(UTC) - timedelta(seconds=1),
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    app.state.runtime.wake_worker()

    found = await history_reaches(tenant, email_id, 4)
    assert found == ["email.scheduled", "email.sent", "email.delivered", "email.unconfirmed"]

    reply = await tenant.ok(
        "POST", f"/v1/emails/{email_id}/reconcile", json={"outcome": "not_delivered"}
    )
    [again, *_] = await events_of(tenant, email_id)
    assert again["type"] == "email.scheduled"
    assert again["data"]["sent_time"] is None
    # The reply is the email as changed (the worker may already be sending it again).
    assert reply["data"]["status"] == "scheduled"
    assert again["data"] == reply["data"]
    await email_settles(tenant, email_id)

    assert (await history(tenant, email_id))[4:] == [
        "email.scheduled",
        "email.sent",
        "email.delivered",
    ]
    assert len(mail.to(recipient)) == 2


# -- telemetry: opens, clicks, unsubscribes ---------------------------------------------------


async def test_the_first_open_shows_email_opened_once(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email_id, recipient = await delivered(api)
    [message] = mail.to(recipient)
    pixel = link(PIXEL, bodies(message)[1])

    for _ in range(3):
        assert (await client.get(pixel)).status_code == 200

    types = await history(tenant, email_id)
    assert types == ["email.scheduled", "email.sent", "email.delivered", "email.opened"]
    [opened, *_] = await events_of(tenant, email_id)
    assert opened["data"]["opened_time"] is not None
    assert opened["data"]["clicked_time"] is None


async def test_a_click_with_the_pixel_blocked_shows_opened_then_clicked(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email_id, recipient = await delivered(api)
    [message] = mail.to(recipient)
    markup = bodies(message)[1]

    for _ in range(2):
        assert (await client.get(link(CLICK, markup))).status_code == 302
    assert (await client.get(link(PIXEL, markup))).status_code == 200

    assert (await history(tenant, email_id))[3:] == ["email.opened", "email.clicked"]
    clicked, opened, *_ = await events_of(tenant, email_id)
    assert opened["data"]["clicked_time"] is None
    assert clicked["data"]["opened_time"] == opened["data"]["opened_time"] is not None
    assert clicked["data"]["clicked_time"] is not None


async def test_a_click_after_an_open_shows_only_the_click(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email_id, recipient = await delivered(api)
    [message] = mail.to(recipient)
    markup = bodies(message)[1]

    assert (await client.get(link(PIXEL, markup))).status_code == 200
    assert (await client.get(link(CLICK, markup))).status_code == 302

    assert (await history(tenant, email_id))[3:] == ["email.opened", "email.clicked"]


async def test_unsubscribing_twice_shows_email_unsubscribed_once(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email_id, recipient = await delivered(api)
    [message] = mail.to(recipient)
    unsubscribe = unsubscribe_link(message)

    for _ in range(2):
        assert (await client.post(unsubscribe)).status_code == 200

    assert (await history(tenant, email_id))[3:] == ["email.unsubscribed"]
    [event_, *_] = await events_of(tenant, email_id)
    assert event_["data"]["unsubscribed"] is True


# -- rolled back: no change, no event -------------------------------------------------------


async def test_an_unsubscribe_that_rolls_back_leaves_no_event(
    app: FastAPI, api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email_id, recipient = await delivered(api)
    [message] = mail.to(recipient)
    unsubscribe = unsubscribe_link(message)

    # The email's row is changed and its event kept; then the suppression fails.
    with failing(app, "suppressions") as refused:
        reply = await client.post(unsubscribe)
    assert refused
    assert reply.status_code == 500

    assert (await get_email(tenant, email_id))["unsubscribed"] is False
    assert await history(tenant, email_id) == ["email.scheduled", "email.sent", "email.delivered"]
    # Once it goes through, the change and its event are there.
    assert (await client.post(unsubscribe)).status_code == 200
    assert (await history(tenant, email_id))[3:] == ["email.unsubscribed"]


async def test_an_open_whose_event_cannot_be_written_is_not_recorded(
    app: FastAPI, api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email_id, recipient = await delivered(api)
    [message] = mail.to(recipient)
    pixel = link(PIXEL, bodies(message)[1])

    with failing(app, "events") as refused:
        reply = await client.get(pixel)
    assert refused
    assert reply.status_code == 500

    # A change never commits without its event.
    assert (await get_email(tenant, email_id))["opened_time"] is None
    assert await history(tenant, email_id) == ["email.scheduled", "email.sent", "email.delivered"]
    assert (await client.get(pixel)).status_code == 200
    assert (await history(tenant, email_id))[3:] == ["email.opened"]


async def test_a_send_email_that_rolls_back_leaves_no_event(
    app: FastAPI, api: Api, mail: Mail
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    body = documented_request(template, callout_id, new_address())

    with failing(app, "events") as refused:
        reply = await tenant.request("POST", "/v1/send-email", json=body)
    assert refused
    assert reply.status_code == 500

    emails = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})
    assert emails["data"] == []
    listed = await tenant.ok("GET", "/v1/events", params={"type": "email.*"})
    assert listed["data"] == []
