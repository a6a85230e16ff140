"""``POST /send-email`` end to end: the documented request and reply, the worker delivering it to
a real SMTP server, the message as received, the statuses a client reads back, the mail server
refusing permanently or for a while, and the bad input the endpoint refuses."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.email_e2e.helpers import (
    NASTY_NAME,
    PUBLIC_URL,
    Mail,
    bodies,
    documented_request,
    email_settles,
    get_email,
    header,
    new_address,
    send,
    settle_worker,
    tenant_with_callout,
)
from tests.support import Api, Tenant, eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# CREDIRA_DOCS.md 2.10: the documented reply of POST /send-email.
DOCUMENTED_SEND_REPLY: dict[str, Any] = {
    "id": "email_123456789",
    "template_id": "template_123456789",
    "callout_id": "callout_987654321",
    "recipient_email": "customer@example.com",
    "recipient_name": "John Doe",
    "subject": "Payment Reminder - Invoice #INV-001",
    "status": "scheduled",
    "scheduled_time": "2024-01-15T14:30:00Z",
    "account_id": "acc_789123456",
    "created_time": "2024-01-15T10:30:00Z",
    "email_type": "payment_reminder",
    "priority": "high",
    "estimated_delivery": "2024-01-15T14:30:00Z",
    "tracking_id": "track_456789123",
    "metadata": {"campaign_id": "camp_123", "department": "billing", "invoice_amount": 1250.0},
}
# CREDIRA_DOCS.md 2.8: one email of GET /emails?callout_id=.
DOCUMENTED_LIST_ITEM: dict[str, Any] = {
    "id": "email_123456789",
    "callout_id": "callout_987654321",
    "subject": "Payment Reminder - Invoice #INV-001",
    "recipient_email": "customer@example.com",
    "recipient_name": "John Doe",
    "status": "delivered",
    "template_id": "template_456789123",
    "template_name": "Payment Reminder Template",
    "sent_time": "2024-01-15T10:30:00Z",
    "opened_time": "2024-01-15T11:15:00Z",
    "clicked_time": "2024-01-15T11:20:00Z",
    "bounced": False,
    "unsubscribed": False,
    "account_id": "acc_789123456",
    "created_time": "2024-01-15T10:25:00Z",
    "email_type": "payment_reminder",
    "priority": "high",
    "metadata": {"campaign_id": "camp_123", "department": "billing", "invoice_amount": 1250.0},
}


def shape(value: Any, *, top: bool = True) -> Any:
    """The JSON types of a value, the object's keys in documented order: what "the same shape"
    compares. Nested objects (``metadata``) are free-form: their keys in any order."""
    if isinstance(value, dict):
        pairs = [(key, shape(item, top=False)) for key, item in value.items()]
        return pairs if top else sorted(pairs)
    if isinstance(value, list):
        return [shape(item, top=False) for item in value]
    return type(value).__name__


async def test_documented_request_is_delivered_over_smtp_as_rendered(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()

    data = await send(tenant, documented_request(template, callout_id, recipient))

    assert shape(data) == shape(DOCUMENTED_SEND_REPLY)
    assert data["id"].startswith("email_")
    assert data["tracking_id"].startswith("track_")
    assert data["status"] == "scheduled"
    assert data["template_id"] == template
    assert data["callout_id"] == callout_id
    assert data["account_id"] == tenant.account_id
    assert data["recipient_email"] == recipient
    assert data["recipient_name"] == "John Doe"
    assert data["subject"] == "Payment reminder: invoice INV-001"
    assert data["scheduled_time"] == data["estimated_delivery"] == "2024-01-15T14:30:00Z"
    assert TIME.match(data["created_time"])
    assert data["metadata"] == DOCUMENTED_SEND_REPLY["metadata"]

    delivered = await email_settles(tenant, data["id"])
    assert delivered["status"] == "delivered", delivered
    assert delivered["bounced"] is False
    assert TIME.match(delivered["sent_time"])
    assert delivered["smtp_reply"].startswith("250")

    [message] = mail.to(recipient)
    assert message["Subject"] == "Payment reminder: invoice INV-001"
    assert message["To"].addresses[0].addr_spec == recipient
    assert message["Message-ID"] == delivered["message_id"]
    text, markup = bodies(message)
    # The name is data: escaped in the HTML part, verbatim in the text part.
    assert f"Dear {NASTY_NAME}," in text
    assert NASTY_NAME not in markup
    assert "<b>Bob" not in markup
    assert "&lt;b&gt;Bob &amp; " in markup
    assert f"Dear {NASTY_NAME}," in html.unescape(markup)
    for part in (text, markup):
        assert "INV-001" in part
        assert "1250.00" in part
        assert "2024-01-30" in part
        assert "{{" not in part
    # One-click unsubscribe (RFC 8058), pointing at our own signed /u/ link.
    unsubscribe = header(message, "List-Unsubscribe")
    assert re.fullmatch(rf"<{re.escape(PUBLIC_URL)}/u/[^>\s]+>", unsubscribe), unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = unsubscribe[1:-1]
    assert link in text
    assert html.escape(link) in markup
    # The signed link works: it shows the unsubscribe page (a GET changes nothing).
    page = await api.client.get(link)
    assert page.status_code == 200
    assert (await get_email(tenant, data["id"]))["unsubscribed"] is False


async def test_list_of_a_callouts_emails_has_the_documented_shape(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    empty = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})
    assert empty["data"] == []
    assert empty["meta"]["total_emails"] == 0

    sent = await send(tenant, documented_request(template, callout_id, new_address()))
    await email_settles(tenant, sent["id"])
    body = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})

    assert body["meta"]["total_emails"] == 1
    [item] = body["data"]
    # Not opened nor clicked yet: those two are null, every other field has its documented type.
    assert (item["opened_time"], item["clicked_time"]) == (None, None)
    item = {**item, "opened_time": "", "clicked_time": ""}
    assert shape(item) == shape(DOCUMENTED_LIST_ITEM)
    assert item["id"] == sent["id"]
    assert item["callout_id"] == callout_id
    assert item["status"] == "delivered"
    assert item["template_id"] == template
    assert item["template_name"] == "Payment Reminder"
    assert item["subject"] == sent["subject"]
    assert item["account_id"] == tenant.account_id
    assert (item["bounced"], item["unsubscribed"]) == (False, False)
    assert item["metadata"] == DOCUMENTED_LIST_ITEM["metadata"]


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({}, 400, "INVALID_REQUEST", "Missing required parameter: callout_id"),
        (
            {"callout_id": "callout_doesnotexist000"},
            404,
            "NOT_FOUND",
            "Callout not found",
        ),
    ],
)
async def test_list_emails_refuses_a_missing_or_unknown_callout(
    api: Api, params: dict[str, str], status: int, code: str, message: str
) -> None:
    tenant, _, _ = await tenant_with_callout(api)

    reply = await tenant.request("GET", "/v1/emails", params=params)

    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is False
    assert body["error"] == {"code": code, "message": message}


async def test_another_accounts_callout_is_not_found(api: Api, mail: Mail) -> None:
    owner, template, callout_id = await tenant_with_callout(api)
    sent = await send(owner, documented_request(template, callout_id, new_address()))
    await email_settles(owner, sent["id"])
    stranger, _, _ = await tenant_with_callout(api)

    reply = await stranger.request("GET", "/v1/emails", params={"callout_id": callout_id})

    assert reply.status_code == 404
    assert reply.json()["error"] == {"code": "NOT_FOUND", "message": "Callout not found"}


# -- the mail server refusing --------------------------------------------------------------


async def test_permanent_refusal_bounces_the_email_and_keeps_the_reply(
    api: Api, mail: Mail
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()
    mail.server.handler.script("DATA", "550 5.1.1 Mailbox does not exist")

    sent = await send(tenant, documented_request(template, callout_id, recipient))
    email = await email_settles(tenant, sent["id"])

    assert email["status"] == "bounced"
    assert email["bounced"] is True
    assert email["smtp_reply"] is not None
    assert "550" in email["smtp_reply"]
    assert "Mailbox does not exist" in email["smtp_reply"]
    assert email["attempts"] == 1
    assert mail.to(recipient) == []
    [listed] = (await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id}))["data"]
    assert (listed["status"], listed["bounced"]) == ("bounced", True)


async def test_temporary_refusal_then_acceptance_delivers_exactly_once(
    api: Api, mail: Mail
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()
    seen_before = mail.server.handler.data_seen
    mail.server.handler.script("DATA", "451 4.3.0 Try again later")

    sent = await send(tenant, documented_request(template, callout_id, recipient))

    # The worker tried once and was told to come back later.
    deferred = await eventually(lambda: _deferred(tenant, sent["id"]))
    assert deferred["status"] == "scheduled"
    assert "451" in (deferred["status_reason"] or "")
    assert deferred["attempts"] == 1
    assert mail.to(recipient) == []

    await mail.make_due(sent["id"])
    email = await email_settles(tenant, sent["id"])

    assert email["status"] == "delivered"
    assert email["bounced"] is False
    assert email["attempts"] == 2
    assert mail.server.handler.data_seen - seen_before == 2
    [message] = mail.to(recipient)
    assert message["Message-ID"] == email["message_id"]
    # A little later, still only the one message: nothing is sent twice.
    await mail.make_due(sent["id"])
    await settle_worker()
    assert len(mail.to(recipient)) == 1
    assert (await get_email(tenant, sent["id"]))["status"] == "delivered"


async def _deferred(tenant: Tenant, email_id: str) -> dict[str, Any] | None:
    email = await get_email(tenant, email_id)
    return email if email["attempts"] >= 1 and email["status"] == "scheduled" else None


async def test_scheduled_time_in_the_future_waits(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    body = documented_request(template, callout_id, recipient)
    body["scheduled_time"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")

    sent = await send(tenant, body)
    await settle_worker()

    assert sent["scheduled_time"] == body["scheduled_time"]
    assert (await get_email(tenant, sent["id"]))["status"] == "scheduled"
    assert mail.to(recipient) == []
    await mail.make_due(sent["id"])
    assert (await email_settles(tenant, sent["id"]))["status"] == "delivered"
    assert len(mail.to(recipient)) == 1


# -- bad input -----------------------------------------------------------------------------


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


BAD_INPUT = [
    pytest.param(
        lambda b: _without(b, "template_id"),
        400,
        "INVALID_REQUEST",
        "Missing required field: template_id",
        None,
        id="missing-template",
    ),
    pytest.param(
        lambda b: _with(b, recipient_email="not-an-email"),
        422,
        "VALIDATION_ERROR",
        "Invalid email address format",
        "Email address must be a valid format",
        id="bad-recipient",
    ),
    pytest.param(
        lambda b: _with(b, template_id="template_doesnotexist000"),
        404,
        "NOT_FOUND",
        "Email template not found",
        None,
        id="unknown-template",
    ),
    pytest.param(
        lambda b: _with(b, variables=_without(b["variables"], "due_date"), callout_id=None),
        422,
        "VALIDATION_ERROR",
        "Missing template variable: due_date",
        "{{due_date}}",
        id="missing-variable",
    ),
    pytest.param(
        lambda b: _with(b, callout_id="callout_doesnotexist000"),
        404,
        "NOT_FOUND",
        "Callout not found",
        None,
        id="unknown-callout",
    ),
]


@pytest.mark.parametrize(("change", "status", "code", "message", "details"), BAD_INPUT)
async def test_bad_send_email_request_is_refused_and_nothing_is_sent(
    api: Api,
    mail: Mail,
    change: Any,
    status: int,
    code: str,
    message: str,
    details: str | None,
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()
    body = change(documented_request(template, callout_id, recipient))
    if body.get("callout_id") is None:
        body.pop("callout_id", None)

    reply = await tenant.request("POST", "/v1/send-email", json=body)

    assert reply.status_code == status, reply.text
    payload = reply.json()
    assert payload["success"] is False
    assert payload["error"]["code"] == code
    assert payload["error"]["message"] == message
    if details is None:
        assert "details" not in payload["error"]
    else:
        assert details in payload["error"]["details"]
    # No email row, so the worker has nothing to send.
    listed = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})
    assert listed["data"] == []
    assert mail.to(recipient) == []
