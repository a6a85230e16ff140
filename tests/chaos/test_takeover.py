"""The states a SIGKILL or a lost lease leaves behind, reproduced exactly, one at a time: what
the chaos run (test_chaos.py) hits at random, here on purpose, so that each finding fails
(or, once fixed, passes) every time.

Each case lets a callout run to its end, then writes back the rows as they stood at the moment
a worker died (or lost its lease), and lets the worker take it over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from credira.app import create_app
from credira.config import Settings
from credira.kit.clock import SystemClock
from credira.models import Callout, Email, Invoice
from credira.worker import repository
from tests.channel.smtpd import SmtpServer
from tests.support import ADMIN_KEY, Api, Tenant, eventually, zone_in_calling_hours
from tests.worker.harness import Db, executor, new_debt, open_db, until

FINAL = ("completed", "failed", "cancelled")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        smtp_url=f"{smtp.url}?starttls=false&timeout=5",
        embedded_worker=True,
        worker_poll_seconds=0.05,
        simulator_time_scale=0.2,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _rewind(app: FastAPI, callout_id: str | None, email_id: str, **email: Any) -> None:
    """Put the rows back as a worker that died left them: the callout still active under the
    dead worker's expired lease, the email as given."""
    sessions = app.state.runtime.sessionmaker
    expired = datetime.now(UTC) - timedelta(seconds=1)
    async with sessions() as session:
        if callout_id is not None:
            await session.execute(
                update(Callout)
                .where(Callout.id == callout_id)
                .values(
                    status="active",
                    lease_owner="dead-worker",
                    lease_expires=expired,
                    email_done=False,
                    completed_time=None,
                    status_reason=None,
                )
                .execution_options(synchronize_session=False)
            )
        await session.execute(
            update(Email)
            .where(Email.id == email_id)
            .values(lease_owner="dead-worker", lease_expires=expired, **email)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    app.state.runtime.wake_worker()


async def _email_only_callout(tenant: Tenant, recipient: str) -> str:
    invoice = await tenant.invoice(
        customer={
            "name": "John Doe",
            "email": recipient,
            "phone": "+14155550100",
            "timezone": zone_in_calling_hours(),
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
    return str(callout["data"]["id"])


async def _settled(tenant: Tenant, callout_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        data: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        return data if data["status"] in FINAL else None

    found: dict[str, Any] = await eventually(check, within=20)
    return found


async def _emails_of(tenant: Tenant, callout_id: str) -> list[dict[str, Any]]:
    body = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})
    emails: list[dict[str, Any]] = body["data"]
    return emails


async def _delivered_callout_email(tenant: Tenant, recipient: str) -> tuple[str, dict[str, Any]]:
    """An email-only callout run to its end: its id and its one (delivered) email."""
    callout_id = await _email_only_callout(tenant, recipient)
    await _settled(tenant, callout_id)
    [email] = await _emails_of(tenant, callout_id)
    return callout_id, email


def _message_ids(smtp: SmtpServer, recipient: str) -> list[str]:
    return [str(r.message["Message-ID"]) for r in smtp.received if recipient in r.rcpt_tos]


async def test_a_callout_taken_over_after_its_email_was_delivered_sends_no_second_email(
    app: FastAPI, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    tenant = await Api(client).tenant()
    recipient = "taken.over@debtor.example.com"
    callout_id = await _email_only_callout(tenant, recipient)
    assert (await _settled(tenant, callout_id))["status"] == "completed"
    [email] = await _emails_of(tenant, callout_id)
    assert len(_message_ids(smtp, recipient)) == 1

    # The worker recorded the delivery, then died before marking the callout's email done.
    await _rewind(app, callout_id, email["id"])
    assert (await _settled(tenant, callout_id))["status"] == "completed"
    await asyncio.sleep(0.3)

    assert len(_message_ids(smtp, recipient)) == 1
    assert [e["id"] for e in await _emails_of(tenant, callout_id)] == [email["id"]]


async def test_a_callout_email_whose_delivery_is_unknown_is_not_sent_again(
    app: FastAPI, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    tenant = await Api(client).tenant()
    recipient = "ambiguous.callout@debtor.example.com"
    callout_id, email = await _delivered_callout_email(tenant, recipient)

    # The server accepted the message; the worker died before recording that.
    await _rewind(app, callout_id, email["id"], status="sent", delivered_time=None)
    await _settled(tenant, callout_id)
    await asyncio.sleep(0.3)

    assert len(_message_ids(smtp, recipient)) == 1
    settled = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
    assert settled["status"] == "completed"
    assert settled["status_reason"] == "email delivery unconfirmed"
    found = (await tenant.ok("GET", f"/v1/emails/{email['id']}"))["data"]
    assert found["status"] == "unconfirmed"
    assert "POST /v1/emails/" in found["status_reason"]


async def test_a_sent_email_whose_delivery_is_unknown_is_not_sent_again(
    app: FastAPI, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    tenant = await Api(client).tenant()
    recipient = "ambiguous.standalone@debtor.example.com"
    templates = await tenant.ok(
        "GET", "/v1/email-templates", params={"account_id": tenant.account_id}
    )
    template = next(t["id"] for t in templates["data"] if t["category"] == "payment_reminder")
    sent = await tenant.ok(
        "POST",
        "/v1/send-email",
        json={
            "template_id": template,
            "recipient_email": recipient,
            "variables": {
                "customer_name": "John Doe",
                "invoice_number": "INV-001",
                "amount": "1250.00",
                "due_date": "2024-01-30",
            },
        },
    )
    email_id = sent["data"]["id"]

    async def delivered() -> bool:
        email = (await tenant.ok("GET", f"/v1/emails/{email_id}"))["data"]
        return bool(email["status"] == "delivered")

    await eventually(delivered, within=20)
    await _rewind(app, None, email_id, status="sent", delivered_time=None)

    async def final() -> bool:
        email = (await tenant.ok("GET", f"/v1/emails/{email_id}"))["data"]
        return bool(email["status"] != "sent")

    await eventually(final, within=20)
    await asyncio.sleep(0.3)

    assert len(_message_ids(smtp, recipient)) == 1
    found = (await tenant.ok("GET", f"/v1/emails/{email_id}"))["data"]
    assert found["status"] == "unconfirmed"

    # Reconciled as never delivered: it goes out again, once.
    await tenant.ok("POST", f"/v1/emails/{email_id}/reconcile", json={"outcome": "not_delivered"})

    async def resent() -> bool:
        email = (await tenant.ok("GET", f"/v1/emails/{email_id}"))["data"]
        return bool(email["status"] == "delivered")

    await eventually(resent, within=20)
    assert len(_message_ids(smtp, recipient)) == 2
    # Now delivered: there is nothing left to reconcile.
    refused = await tenant.request(
        "POST", f"/v1/emails/{email_id}/reconcile", json={"outcome": "delivered"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CONFLICT"


# -- a lease lost while the call runs --------------------------------------------------------


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


async def test_a_call_concluded_after_its_lease_was_taken_over_keeps_its_effects(
    db: Db,
) -> None:
    # Ends in 06: the debtor disputes the debt.
    debt = await new_debt(db, zone=zone_in_calling_hours(), phone="+14155550106")
    callout = debt.callout()
    await db.add(callout)
    async with db.sessions() as session:
        [claimed] = await repository.claim_due(
            session, "stalled", datetime.now(UTC), timedelta(seconds=30), 10
        )
    stalled = asyncio.create_task(
        executor(db, SystemClock(), "stalled", time_scale=0.5).run(claimed)
    )

    async def in_progress() -> bool:
        calls = await db.calls(callout_id=callout.id)
        return bool(calls) and calls[0].status == "in_progress"

    await until(in_progress, within=10)
    # The stalled worker's lease ran out and another worker claimed the callout...
    await db.edit(Callout, callout.id, lease_owner="heir", lease_expires=datetime.now(UTC))
    # ...the stalled worker's conclusion lands first, then the heir runs the callout.
    await asyncio.wait_for(stalled, timeout=20)
    await asyncio.wait_for(
        executor(db, SystemClock(), "heir", time_scale=0.5).run(claimed), timeout=20
    )

    [call] = await db.calls(callout_id=callout.id)
    assert call.outcome == "dispute"
    assert (await db.get(Invoice, debt.invoice_id)).status == "disputed"
    assert (await db.get(Callout, callout.id)).status == "completed"


async def test_an_unconfirmed_email_reconciled_as_delivered_is_not_sent_again(
    app: FastAPI, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    api = Api(client)
    tenant = await api.tenant()
    recipient = "reconciled@debtor.example.com"
    callout_id, email = await _delivered_callout_email(tenant, recipient)
    await _rewind(app, callout_id, email["id"], status="sent", delivered_time=None)
    await _settled(tenant, callout_id)

    other = await api.tenant()
    hidden = await other.request(
        "POST", f"/v1/emails/{email['id']}/reconcile", json={"outcome": "delivered"}
    )
    assert hidden.status_code == 404
    bad = await tenant.request(
        "POST", f"/v1/emails/{email['id']}/reconcile", json={"outcome": "maybe"}
    )
    assert bad.status_code == 422

    reply = await tenant.ok(
        "POST",
        f"/v1/emails/{email['id']}/reconcile",
        json={"outcome": "delivered", "note": "found in the relay's log"},
    )
    assert reply["data"]["status"] == "delivered"
    assert reply["data"]["status_reason"] == "found in the relay's log"
    assert reply["data"]["delivered_time"] is not None
    await asyncio.sleep(0.3)
    assert len(_message_ids(smtp, recipient)) == 1


async def test_a_callout_email_stopped_before_the_hand_over_is_sent_again_once(
    app: FastAPI, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    tenant = await Api(client).tenant()
    recipient = "before.handover@debtor.example.com"
    callout_id, email = await _delivered_callout_email(tenant, recipient)

    # The worker stopped while the mail server was still checking the envelope: the message
    # never went (forget the delivery the setup made), so the next attempt simply sends it.
    smtp.received.clear()
    await _rewind(app, callout_id, email["id"], status="sending", delivered_time=None)
    assert (await _settled(tenant, callout_id))["status"] == "completed"
    await asyncio.sleep(0.3)

    assert len(_message_ids(smtp, recipient)) == 1
    found = (await tenant.ok("GET", f"/v1/emails/{email['id']}"))["data"]
    assert found["status"] == "delivered"
    assert found["attempts"] == 2
