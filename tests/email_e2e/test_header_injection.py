"""Email header injection through RFC 2047 encoded words (issue 16, finding 1), end to end: the
requests of the report go through the API, the embedded worker sends the email to a real SMTP
server, and the message it received is parsed and compared with what was meant.

A contact name of ``=?utf-8?q?Jane=0D=0A=0D=0ASpoofed_body?=`` ended the header block (the
recipient saw only From and To); an ``invoice_number`` variable rendered into the subject added a
``Reply-To``. An attacker's encoded word now arrives as the literal text it was, and what cannot
be written in a header (control characters, line separators) is refused at input, naming the
field.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from tests.email_e2e.helpers import (
    Mail,
    bodies,
    callout_settles,
    documented_request,
    email_settles,
    new_address,
    send,
    tenant_with_callout,
)
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTACT_NAME = "=?utf-8?q?Jane=0D=0A=0D=0ASpoofed_body?="
INVOICE_NUMBER = "=?utf-8?q?x=0D=0AReply-To:_attacker@evil.example?="
HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
]
# What a header cannot carry: line breaks of every kind, and the other control characters.
UNWRITABLE = {
    "CRLF": "Jane\r\nReply-To: attacker@evil.example",
    "LF": "Jane\nBcc: victim@evil.example",
    "U+2028": "Jane\u2028Reply-To: attacker@evil.example",
    "U+2029": "Jane\u2029Roe",
    "U+0085": "Jane\x85Reply-To: attacker@evil.example",
    "VT": "Jane\x0bRoe",
    "FF": "Jane\x0cRoe",
    "tab": "Jane\tRoe",
    "NUL": "Jane\x00Roe",
    "ESC": "Jane\x1b[2KRoe",
}


def assert_headers_as_meant(message: EmailMessage, *, subject: str, to: tuple[str, str]) -> None:
    assert message.keys() == HEADERS
    assert str(message["Subject"]) == subject
    [recipient] = message["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == to
    assert str(message["Message-ID"]).startswith("<")
    assert str(message["List-Unsubscribe"]).startswith("<http://testserver/")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


async def test_encoded_word_in_contact_name_cannot_inject_headers(api: Api, mail: Mail) -> None:
    tenant = await api.tenant()
    recipient = new_address()
    invoice = await tenant.invoice(
        number="INV-1601",
        customer={"name": "Jane Roe", "email": recipient, "phone": "+14155550100"},
    )
    body = {
        "invoice_id": invoice["id"],
        "actions": {"calls_enabled": False, "emails_enabled": True},
        "target_contact": {"name": CONTACT_NAME},
    }
    callout_id = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]["id"]

    finished = await callout_settles(tenant, callout_id)

    assert finished["status"] == "completed", finished
    [message] = mail.to(recipient)
    assert_headers_as_meant(
        message, subject="Payment reminder: invoice INV-1601", to=(CONTACT_NAME, recipient)
    )
    text, markup = bodies(message)
    assert f"Dear {CONTACT_NAME}," in text
    assert "INV-1601" in text
    assert "INV-1601" in markup
    assert "Spoofed body" not in text.split(",", 1)[1]


async def test_encoded_word_in_a_variable_cannot_inject_headers(api: Api, mail: Mail) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()
    request = documented_request(template, callout_id, recipient)
    request["variables"]["invoice_number"] = INVOICE_NUMBER

    data = await send(tenant, request)
    delivered = await email_settles(tenant, data["id"])

    assert delivered["status"] == "delivered", delivered
    [message] = mail.to(recipient)
    subject = f"Payment reminder: invoice {INVOICE_NUMBER}"
    assert data["subject"] == subject
    assert_headers_as_meant(message, subject=subject, to=("John Doe", recipient))
    assert "Reply-To" not in message
    assert message["Message-ID"] == delivered["message_id"]
    text, _ = bodies(message)
    assert INVOICE_NUMBER in text


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\r\n", "\x0b"])
async def test_line_separator_in_a_variable_is_a_space_in_the_subject(
    api: Api, mail: Mail, separator: str
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    recipient = new_address()
    request = documented_request(template, callout_id, recipient)
    request["variables"]["invoice_number"] = f"INV-9{separator}Reply-To: attacker@evil.example"

    data = await send(tenant, request)
    delivered = await email_settles(tenant, data["id"])

    assert delivered["status"] == "delivered", delivered
    subject = "Payment reminder: invoice INV-9 Reply-To: attacker@evil.example"
    [message] = mail.to(recipient)
    assert_headers_as_meant(message, subject=subject, to=("John Doe", recipient))


async def _refused(
    tenant: Tenant, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    reply = await tenant.request(method, path, json=body)
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert error["message"] == f"Invalid value for {field}"
    # NUL is refused at the edge, in every string (PostgreSQL text cannot hold it).
    assert "control characters" in error["details"] or "NUL" in error["details"]


@pytest.mark.parametrize("name", UNWRITABLE.values(), ids=UNWRITABLE.keys())
async def test_header_injection_names_that_cannot_be_written_are_refused_at_input(
    api: Api, mail: Mail, name: str
) -> None:
    tenant, template, callout_id = await tenant_with_callout(api)
    invoice, agent, _ = await tenant.scenario()
    recipient = new_address()
    customer = {"name": name, "email": recipient, "phone": "+14155550100"}
    contact = {"name": name}

    await _refused(
        tenant, "POST", "/v1/invoices", {**_invoice(), "customer": customer}, "customer.name"
    )
    await _refused(
        tenant,
        "PUT",
        f"/v1/invoices/{invoice['id']}",
        {"customer": {"name": name}},
        "customer.name",
    )
    await _refused(
        tenant,
        "POST",
        "/v1/callouts",
        {
            "invoice_id": invoice["id"],
            "target_contact": contact,
            "actions": {"calls_enabled": False, "emails_enabled": True},
        },
        "target_contact.name",
    )
    await _refused(
        tenant,
        "PUT",
        f"/v1/callouts/{callout_id}",
        {"target_contact": contact},
        "target_contact.name",
    )
    await _refused(
        tenant,
        "POST",
        "/v1/calls",
        {
            "invoice_id": invoice["id"],
            "voice_agent_id": agent["id"],
            "phone_number": "+14155550100",
            "customer_name": name,
        },
        "customer_name",
    )
    request = {**documented_request(template, callout_id, recipient), "recipient_name": name}
    await _refused(tenant, "POST", "/v1/send-email", request, "recipient_name")
    assert mail.to(recipient) == []


def _invoice() -> dict[str, Any]:
    return {"number": "INV-1602", "amount": "10.00", "currency": "USD", "due_date": "2024-01-30"}
