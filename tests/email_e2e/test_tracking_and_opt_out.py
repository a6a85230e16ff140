"""The links inside a delivered email, taken from the message the SMTP server received: the open
pixel, click redirects (genuine and tampered) and one-click unsubscribe, after which no email
reaches that address again, whether asked for through ``POST /send-email`` or by a callout."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from tests.email_e2e.helpers import (
    PUBLIC_URL,
    Mail,
    bodies,
    callout_settles,
    email_settles,
    get_email,
    header,
    new_address,
    send,
    settle_worker,
    template_id,
)
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

TARGET = "https://pay.example.com/invoices/INV-001?ref=email"
PIXEL = re.compile(r'<img src="(?P<url>[^"]+/t/o/[^"]+\.gif)"')
CLICK = re.compile(r'href="(?P<url>[^"]+/t/c/[^"]+)"')


def request_for(template: str, recipient: str) -> dict[str, Any]:
    return {
        "template_id": template,
        "recipient_email": recipient,
        "recipient_name": "John Doe",
        "variables": {
            "customer_name": "John Doe",
            "invoice_number": "INV-001",
            "amount": "$1,250.00",
            "due_date": "2024-01-30",
            "payment_link": TARGET,  # the default template shows a pay button with it
        },
    }


async def delivered_email(
    api: Api, mail: Mail, recipient: str | None = None
) -> tuple[Tenant, dict[str, Any], str]:
    """A new account's email, delivered: its GET /emails/{id} view and the HTML received."""
    tenant = await api.tenant()
    # The key's first use is a write: see ``tenant_with_callout``.
    await tenant.invoice()
    recipient = recipient or new_address()
    sent = await send(tenant, request_for(await template_id(tenant), recipient))
    email = await email_settles(tenant, sent["id"])
    assert email["status"] == "delivered", email
    [message] = mail.to(recipient)
    _, markup = bodies(message)
    return tenant, email, markup


def local(url: str) -> str:
    """An absolute link of ours as a path for the test client (it is the app at PUBLIC_URL)."""
    assert url.startswith(PUBLIC_URL + "/"), url
    return url.removeprefix(PUBLIC_URL)


def link(pattern: re.Pattern[str], markup: str) -> str:
    found = pattern.search(markup)
    assert found is not None, markup
    return found["url"].replace("&amp;", "&")


def _retargeted(token: str) -> str:
    """The genuine signature on a payload pointing elsewhere: an open-redirect attempt."""
    head, _, signature = token.rpartition(".")
    payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    tracking_id, _, target = payload.decode().partition("\n")
    assert target == TARGET
    evil = f"{tracking_id}\nhttps://evil.example.com/".encode()
    return f"{base64.urlsafe_b64encode(evil).rstrip(b'=').decode()}.{signature}"


async def test_fetching_the_pixel_of_the_received_email_sets_opened_time(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email, markup = await delivered_email(api, mail)
    assert email["opened_time"] is None

    reply = await client.get(local(link(PIXEL, markup)))

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/gif"
    opened = await get_email(tenant, email["id"])
    assert opened["opened_time"] is not None
    assert opened["clicked_time"] is None
    assert opened["status"] == "delivered"


# Ways to alter a genuine click token; every one must be refused. One delivered email serves
# them all (a delivery per variant would only slow the module down).
TAMPERED = {
    "last-char": lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
    "char-dropped": lambda token: token[:10] + token[11:],
    "char-added": lambda token: token + "x",
    "target-swapped": _retargeted,
}


async def test_tampered_click_link_is_not_found_and_redirects_nowhere(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email, markup = await delivered_email(api, mail)
    path = local(link(CLICK, markup))
    prefix, _, token = path.rpartition("/")

    for name, tamper in TAMPERED.items():
        reply = await client.get(f"{prefix}/{tamper(token)}")

        assert reply.status_code == 404, (name, reply.text)
        assert "location" not in reply.headers, name
        body = reply.json()
        assert body["success"] is False
        assert body["error"]["code"] == "NOT_FOUND", name
    after = await get_email(tenant, email["id"])
    assert (after["clicked_time"], after["opened_time"]) == (None, None)
    # The untouched link still works: the refusals above were about the changes.
    assert (await client.get(path)).status_code == 302


async def test_genuine_click_redirects_to_the_target_and_sets_clicked_time(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    tenant, email, markup = await delivered_email(api, mail)
    assert TARGET not in markup  # the pay button goes through our signed redirect

    reply = await client.get(local(link(CLICK, markup)))

    assert reply.status_code == 302
    assert reply.headers["location"] == TARGET
    clicked = await get_email(tenant, email["id"])
    assert clicked["clicked_time"] is not None
    # A click proves the email was opened, even when the pixel was blocked.
    assert clicked["opened_time"] is not None


async def test_one_click_unsubscribe_stops_the_next_email_to_that_address(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    recipient = new_address()
    tenant, email, _ = await delivered_email(api, mail, recipient)
    [message] = mail.to(recipient)
    unsubscribe = header(message, "List-Unsubscribe")[1:-1]

    # What a mail provider's "unsubscribe" button does (RFC 8058).
    reply = await client.post(
        local(unsubscribe),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status_code == 200, reply.text
    assert (await get_email(tenant, email["id"]))["unsubscribed"] is True

    # POST /send-email to the address is refused, and nothing is created or sent.
    template = await template_id(tenant)
    refused = await tenant.request("POST", "/v1/send-email", json=request_for(template, recipient))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "CONFLICT"

    # A callout's email to it is not sent either: the email fails naming the opt-out, and the
    # email-only callout fails with it.
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
    finished = await callout_settles(tenant, callout["data"]["id"])
    assert finished["status"] == "failed", finished
    [blocked] = (
        await tenant.ok("GET", "/v1/emails", params={"callout_id": callout["data"]["id"]})
    )["data"]
    assert blocked["status"] == "failed"
    detail = await get_email(tenant, blocked["id"])
    assert "opted out" in detail["status_reason"]
    assert "opted out" in finished["status_reason"]
    assert detail["attempts"] == 0
    await settle_worker()
    assert len(mail.to(recipient)) == 1


async def test_unsubscribe_page_on_get_changes_nothing(
    api: Api, mail: Mail, client: httpx.AsyncClient
) -> None:
    recipient = new_address()
    tenant, email, _ = await delivered_email(api, mail, recipient)
    [message] = mail.to(recipient)
    unsubscribe = header(message, "List-Unsubscribe")[1:-1]

    page = await client.get(local(unsubscribe))

    assert page.status_code == 200
    assert "<form" in page.text
    assert (await get_email(tenant, email["id"]))["unsubscribed"] is False
    again = await send(tenant, request_for(await template_id(tenant), recipient))
    assert (await email_settles(tenant, again["id"]))["status"] == "delivered"
    assert len(mail.to(recipient)) == 2
