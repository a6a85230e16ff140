"""A callout's email part, run by the embedded worker through a real SMTP server: with calls it
makes one call and one email, both in the callout's response; alone it decides how the callout
ends. And the contact rules for email: nothing about a settled invoice, and the account's weekly
per-invoice contact limit holds an email back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from credira.models import Callout, Invoice
from tests.email_e2e.helpers import (
    Mail,
    bodies,
    callout_settles,
    documented_request,
    email_settles,
    get_email,
    new_address,
    send,
    settle_worker,
    template_id,
)
from tests.support import Api, Tenant, eventually, zone_in_calling_hours

pytestmark = pytest.mark.asyncio(loop_scope="module")

ANSWERED_PHONE = "+14155550100"  # the simulator answers numbers ending in 00
EMAIL_ENTRY_KEYS = {"email_subject", "opened_time", "clicked_time", "template_id"}
CALL_ENTRY_KEYS = {
    "duration",
    "call_recording_url",
    "transcription_url",
    "confidence_score",
    "sentiment_score",
    "keywords",
    "summary",
    "voice_agent_id",
}


async def debt(api: Api, recipient: str) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    """A new account with an open invoice whose customer has ``recipient`` as email, a phone the
    simulator answers and a time zone where it is now mid-afternoon; and a voice agent."""
    tenant = await api.tenant()
    invoice = await tenant.invoice(
        number="INV-7001",
        customer={
            "name": "Jane Roe",
            "email": recipient,
            "phone": ANSWERED_PHONE,
            "timezone": zone_in_calling_hours(),
        },
    )
    agent = await tenant.agent()
    return tenant, invoice, agent


async def callout_now(
    tenant: Tenant, invoice_id: str, *, calls: bool, agent_id: str | None = None, **extra: Any
) -> str:
    actions: dict[str, Any] = {"calls_enabled": calls, "emails_enabled": True}
    if agent_id is not None:
        actions["voice_agent_id"] = agent_id
    body = {"invoice_id": invoice_id, "actions": actions, **extra}
    created = await tenant.ok("POST", "/v1/callouts", json=body)
    return str(created["data"]["id"])


async def emails_of(tenant: Tenant, callout_id: str) -> list[dict[str, Any]]:
    body = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})
    assert body["meta"]["total_emails"] == len(body["data"])
    data: list[dict[str, Any]] = body["data"]
    return data


async def test_callout_with_calls_and_emails_makes_one_call_and_one_email(
    api: Api, mail: Mail
) -> None:
    recipient = new_address()
    tenant, invoice, agent = await debt(api, recipient)

    callout_id = await callout_now(tenant, invoice["id"], calls=True, agent_id=agent["id"])
    finished = await callout_settles(tenant, callout_id)

    assert finished["status"] == "completed", finished
    calls = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    assert len(calls) == 1
    [email] = await emails_of(tenant, callout_id)
    assert email["status"] == "delivered"
    assert email["recipient_email"] == recipient
    assert email["template_id"] == await template_id(tenant)
    [message] = mail.to(recipient)
    # Rendered from the default template with the invoice's own data.
    assert message["Subject"] == "Payment reminder: invoice INV-7001"
    assert email["subject"] == message["Subject"]
    text, markup = bodies(message)
    for part in (text, markup):
        assert "Jane Roe" in part
        assert "INV-7001" in part
        assert "$1,250.00" in part
    assert message["Message-ID"] == (await get_email(tenant, email["id"]))["message_id"]

    report = (await tenant.ok("GET", f"/v1/callouts/{callout_id}/response"))["data"]
    assert report["status"] == "completed"
    assert report["total_attempts"] == 2
    by_type = {entry["type"]: entry for entry in report["responses"]}
    assert sorted(by_type) == ["call", "email"]
    assert len(report["responses"]) == 2
    email_entry, call_entry = by_type["email"], by_type["call"]
    assert set(email_entry) >= EMAIL_ENTRY_KEYS
    assert not CALL_ENTRY_KEYS & set(email_entry)
    assert email_entry["status"] == "delivered"
    assert email_entry["email_subject"] == message["Subject"]
    assert email_entry["template_id"] == email["template_id"]
    assert (email_entry["opened_time"], email_entry["clicked_time"]) == (None, None)
    assert email_entry["attempt_id"].startswith("attempt_")
    assert set(call_entry) >= CALL_ENTRY_KEYS
    assert call_entry["status"] == "completed"
    assert call_entry["voice_agent_id"] == agent["id"]
    # The call ringing does not send the email again, nor does anything later.
    await settle_worker()
    assert len(mail.to(recipient)) == 1


@pytest.mark.parametrize(
    ("refusal", "email_status", "callout_status"),
    [
        pytest.param(None, "delivered", "completed", id="delivered"),
        pytest.param("550 5.1.1 Mailbox does not exist", "bounced", "failed", id="bounced"),
    ],
)
async def test_email_only_callout_ends_as_its_email(
    api: Api, mail: Mail, refusal: str | None, email_status: str, callout_status: str
) -> None:
    recipient = new_address()
    tenant, invoice, _ = await debt(api, recipient)
    if refusal is not None:
        mail.server.handler.script("DATA", refusal)

    callout_id = await callout_now(tenant, invoice["id"], calls=False)
    finished = await callout_settles(tenant, callout_id)

    assert finished["status"] == callout_status, finished
    [email] = await emails_of(tenant, callout_id)
    assert email["status"] == email_status
    assert email["bounced"] is (email_status == "bounced")
    assert len(mail.to(recipient)) == (1 if email_status == "delivered" else 0)
    assert (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"] == []
    report = (await tenant.ok("GET", f"/v1/callouts/{callout_id}/response"))["data"]
    assert [entry["type"] for entry in report["responses"]] == ["email"]
    assert report["responses"][0]["status"] == email_status
    assert report["status"] == callout_status


# -- contact rules -------------------------------------------------------------------------


async def _settle_invoice_behind_the_apis_back(mail: Mail, invoice_id: str, status: str) -> None:
    """The invoice settled without the cascade that cancels its callouts (as when another
    process marks it paid while the callout is being claimed): the worker's own check must hold."""
    async with mail.app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Invoice)
            .where(Invoice.id == invoice_id)
            .values(status=status)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


@pytest.mark.parametrize("status", ["paid", "void", "disputed"])
async def test_no_callout_email_about_a_settled_invoice(api: Api, mail: Mail, status: str) -> None:
    recipient = new_address()
    tenant, invoice, agent = await debt(api, recipient)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    callout_id = await callout_now(
        tenant, invoice["id"], calls=True, agent_id=agent["id"], scheduled_time=later
    )
    await _settle_invoice_behind_the_apis_back(mail, invoice["id"], status)
    async with mail.app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Callout)
            .where(Callout.id == callout_id)
            .values(run_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    mail.app.state.runtime.wake_worker()

    finished = await callout_settles(tenant, callout_id)

    assert finished["status"] == "cancelled", finished
    assert status in finished["status_reason"]
    assert await emails_of(tenant, callout_id) == []
    assert (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"] == []
    assert mail.to(recipient) == []


@pytest.mark.parametrize("status", ["paid", "void", "disputed"])
async def test_scheduled_email_about_an_invoice_settled_meanwhile_is_cancelled(
    api: Api, mail: Mail, status: str
) -> None:
    recipient = new_address()
    tenant, invoice, agent = await debt(api, recipient)
    callout = await tenant.callout(invoice["id"], agent["id"])  # due in 2030
    body = documented_request(await template_id(tenant), callout["id"], recipient)
    body["scheduled_time"] = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = await send(tenant, body)

    await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"status": status})
    await mail.make_due(sent["id"])
    email = await email_settles(tenant, sent["id"])

    assert email["status"] == "cancelled"
    assert email["status_reason"] == f"invoice {status}"
    assert email["attempts"] == 0
    assert email["sent_time"] is None
    await settle_worker()
    assert mail.to(recipient) == []
    # And no new email about it is accepted.
    body["scheduled_time"] = None
    refused = await tenant.request("POST", "/v1/send-email", json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == {
        "code": "CONFLICT",
        "message": f"Cannot send an email about a {status} invoice",
    }
    assert [e["id"] for e in await emails_of(tenant, callout["id"])] == [sent["id"]]


async def _held(tenant: Tenant, email_id: str) -> dict[str, Any] | None:
    email = await get_email(tenant, email_id)
    return email if email["status_reason"] == "weekly_contact_limit" else None


@pytest.mark.parametrize("second", ["send_email", "callout"])
async def test_weekly_contact_limit_holds_the_second_email_about_an_invoice(
    api: Api, mail: Mail, second: str
) -> None:
    recipient = new_address()
    tenant, invoice, agent = await debt(api, recipient)
    await mail.account_settings(tenant.account_id, {"weekly_contacts": 1})
    parked = await tenant.callout(invoice["id"], agent["id"])  # due in 2030
    template = await template_id(tenant)
    first = await send(tenant, documented_request(template, parked["id"], recipient))
    assert (await email_settles(tenant, first["id"]))["status"] == "delivered"

    if second == "send_email":
        email_id = (await send(tenant, documented_request(template, parked["id"], recipient)))["id"]
        callout_id = None
    else:
        callout_id = await callout_now(tenant, invoice["id"], calls=False)
        [pending] = await eventually(lambda: emails_of(tenant, callout_id))
        email_id = pending["id"]
    held = await eventually(lambda: _held(tenant, email_id))

    assert held["status"] == "scheduled"
    assert held["sent_time"] is None
    assert held["attempts"] == 0
    await settle_worker()
    assert len(mail.to(recipient)) == 1
    assert (await get_email(tenant, email_id))["status"] == "scheduled"
    if callout_id is not None:
        # The callout waits for the email instead of finishing without it.
        callout = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        assert callout["status"] == "scheduled", callout


async def _make_callout_due(mail: Mail, callout_id: str) -> None:
    async with mail.app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Callout)
            .where(Callout.id == callout_id)
            .values(run_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    mail.app.state.runtime.wake_worker()


async def _deferred_email(tenant: Tenant, callout_id: str) -> dict[str, Any] | None:
    found = await emails_of(tenant, callout_id)
    if not found:
        return None
    email = await get_email(tenant, found[0]["id"])
    return email if email["attempts"] == 1 and email["status"] == "scheduled" else None


async def test_email_only_callout_retries_a_temporarily_refused_email_once(
    api: Api, mail: Mail
) -> None:
    recipient = new_address()
    tenant, invoice, _ = await debt(api, recipient)
    mail.server.handler.script("DATA", "451 4.3.0 Try again later")

    callout_id = await callout_now(tenant, invoice["id"], calls=False)
    deferred = await eventually(lambda: _deferred_email(tenant, callout_id))

    assert "451" in deferred["status_reason"]
    assert mail.to(recipient) == []
    waiting = await eventually(lambda: _callout_in(tenant, callout_id, "scheduled"))
    assert waiting["status"] == "scheduled"

    await mail.make_due(deferred["id"])
    await _make_callout_due(mail, callout_id)
    finished = await callout_settles(tenant, callout_id)

    assert finished["status"] == "completed", finished
    [email] = await emails_of(tenant, callout_id)
    assert email["status"] == "delivered"
    assert (await get_email(tenant, email["id"]))["attempts"] == 2
    assert len(mail.to(recipient)) == 1


async def test_callout_email_refused_for_a_while_is_still_delivered_after_the_call(
    api: Api, mail: Mail
) -> None:
    recipient = new_address()
    tenant, invoice, agent = await debt(api, recipient)
    mail.server.handler.script("DATA", "451 4.3.0 Try again later")

    callout_id = await callout_now(tenant, invoice["id"], calls=True, agent_id=agent["id"])
    finished = await callout_settles(tenant, callout_id)
    assert finished["status"] == "completed", finished
    [email] = await emails_of(tenant, callout_id)
    assert email["status"] == "scheduled"  # deferred by the mail server; the call went ahead

    await mail.make_due(email["id"])
    delivered = await email_settles(tenant, email["id"])

    assert delivered["status"] == "delivered", delivered
    assert len(mail.to(recipient)) == 1


async def test_pending_email_of_a_cancelled_callout_is_cancelled_not_sent(
    api: Api, mail: Mail
) -> None:
    recipient = new_address()
    tenant, invoice, agent = await debt(api, recipient)
    await mail.account_settings(tenant.account_id, {"weekly_contacts": 1})
    parked = await tenant.callout(invoice["id"], agent["id"])  # due in 2030
    template = await template_id(tenant)
    first = await send(tenant, documented_request(template, parked["id"], recipient))
    assert (await email_settles(tenant, first["id"]))["status"] == "delivered"
    callout_id = await callout_now(tenant, invoice["id"], calls=False)
    [pending] = await eventually(lambda: emails_of(tenant, callout_id))
    await eventually(lambda: _held(tenant, pending["id"]))
    await eventually(lambda: _callout_in(tenant, callout_id, "scheduled"))

    await tenant.ok("POST", f"/v1/callouts/{callout_id}/cancel", json={})
    await mail.account_settings(tenant.account_id, {})  # the limit no longer holds it back
    await mail.make_due(pending["id"])
    email = await email_settles(tenant, pending["id"])

    assert email["status"] == "cancelled"
    assert email["status_reason"] == "callout cancelled"
    await settle_worker()
    assert len(mail.to(recipient)) == 1


async def _callout_in(tenant: Tenant, callout_id: str, status: str) -> dict[str, Any] | None:
    callout: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
    return callout if callout["status"] == status else None
