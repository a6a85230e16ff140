"""The links inside an email (open pixel, click redirect, one-click unsubscribe) need no key,
so they are limited per client address (``CREDIRA_RATE_LIMIT_LINKS``). Past the limit the
recipient still gets what the link is for (the image, the redirect, the opt-out); only the
recording of opens and clicks is skipped, so one address cannot keep the database writing."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from credira.app import create_app
from credira.config import Settings
from credira.email import tracking
from credira.email.tracking_endpoints import PIXEL
from tests.ratelimit.helpers import DEAD_REDIS_URL, UNLIMITED
from tests.support import Api, Tenant

PUBLIC_URL = "http://testserver"
TARGET = "https://pay.example.com/invoices/INV-1?ref=email"
RECIPIENT = "203.0.113.7"
NEIGHBOUR = "198.51.100.23"


class Links:
    """An app started with some link settings, and HTTP clients seen from given addresses."""

    def __init__(self, app: FastAPI, stack: AsyncExitStack) -> None:
        self.app = app
        self._stack = stack

    async def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50123))
        return await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)
        )

    @property
    def key(self) -> bytes:
        key: bytes = self.app.state.runtime.signing_key
        assert key
        return key


MakeLinks = Callable[..., Awaitable[Links]]


@pytest.fixture
async def make_links(settings: Settings) -> AsyncIterator[MakeLinks]:
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> Links:
            app = create_app(Settings(**{**settings.model_dump(), **UNLIMITED, **overrides}))
            await stack.enter_async_context(app.router.lifespan_context(app))
            return Links(app, stack)

        yield make


async def any_template(tenant: Tenant) -> str:
    params = {"account_id": tenant.account_id}
    listed = await tenant.ok("GET", "/v1/email-templates", params=params)
    return str(listed["data"][0]["id"])


async def new_emails(tenant: Tenant, count: int) -> list[dict[str, Any]]:
    """``count`` emails of the tenant (scheduled; no worker runs here), as POST /send-email
    answers them (with their ``tracking_id``)."""
    template_id = await any_template(tenant)
    emails = []
    for n in range(count):
        body = {
            "template_id": template_id,
            "recipient_email": f"debtor{n}@example.com",
            "variables": {
                "customer_name": "John Doe",
                "invoice_number": f"INV-{n}",
                "amount": "$1,250.00",
                "due_date": "2024-01-30",
                "payment_link": TARGET,
            },
        }
        emails.append((await tenant.ok("POST", "/v1/send-email", json=body))["data"])
    return emails


async def email_object(tenant: Tenant, email_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await tenant.ok("GET", f"/v1/emails/{email_id}"))["data"]
    return data


def pixel(links: Links, email: dict[str, Any]) -> str:
    return f"/t/o/{tracking.open_token(email['tracking_id'], links.key)}.gif"


def click(links: Links, email: dict[str, Any]) -> str:
    return f"/t/c/{tracking.click_token(email['tracking_id'], TARGET, links.key)}"


def unsubscribe(links: Links, email: dict[str, Any]) -> str:
    return f"/u/{tracking.unsubscribe_token(email['tracking_id'], links.key)}"


async def test_open_pixels_past_the_link_limit_record_no_open_but_still_show_the_image(
    make_links: MakeLinks,
) -> None:
    links = await make_links(rate_limit_links="3/hour")
    tenant = await Api(await links.client()).tenant()
    emails = await new_emails(tenant, 4)
    recipient = await links.client(RECIPIENT)

    for email in emails:  # four opens from one address, three allowed
        reply = await recipient.get(pixel(links, email))
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "image/gif"
        assert reply.content == PIXEL

    seen = [await email_object(tenant, email["id"]) for email in emails]
    assert [e["opened_time"] is not None for e in seen] == [True, True, True, False]

    # Another address is counted on its own.
    neighbour = await links.client(NEIGHBOUR)
    assert (await neighbour.get(pixel(links, emails[3]))).content == PIXEL
    assert (await email_object(tenant, emails[3]["id"]))["opened_time"] is not None


async def test_click_past_the_link_limit_still_redirects_without_recording(
    make_links: MakeLinks,
) -> None:
    links = await make_links(rate_limit_links="2/hour")
    tenant = await Api(await links.client()).tenant()
    first, second, third = await new_emails(tenant, 3)
    recipient = await links.client(RECIPIENT)
    assert (await recipient.get(pixel(links, first))).status_code == 200  # 1 of 2
    assert (await recipient.get(click(links, second))).status_code == 302  # 2 of 2

    reply = await recipient.get(click(links, third))

    assert reply.status_code == 302, reply.text
    assert reply.headers["location"] == TARGET
    seen = await email_object(tenant, third["id"])
    assert seen["clicked_time"] is None
    assert seen["opened_time"] is None
    assert (await email_object(tenant, second["id"]))["clicked_time"] is not None


async def test_unsubscribe_past_the_link_limit_is_still_honoured(make_links: MakeLinks) -> None:
    links = await make_links(rate_limit_links="1/hour")
    tenant = await Api(await links.client()).tenant()
    first, second = await new_emails(tenant, 2)
    recipient = await links.client(RECIPIENT)
    assert (await recipient.get(pixel(links, first))).status_code == 200  # the only one

    reply = await recipient.post(unsubscribe(links, second), data={"List-Unsubscribe": "One-Click"})
    again = await recipient.post(unsubscribe(links, second))

    # An opt-out is what the recipient asked for: it is never refused or dropped.
    assert reply.status_code == 200, reply.text
    assert "You are unsubscribed" in reply.text
    assert again.status_code == 200, again.text
    assert "You are unsubscribed" in again.text
    assert (await email_object(tenant, second["id"]))["unsubscribed"] is True
    refused = await tenant.request(
        "POST",
        "/v1/send-email",
        json={
            "template_id": await any_template(tenant),
            "recipient_email": "debtor1@example.com",
            "variables": {
                "customer_name": "John Doe",
                "invoice_number": "INV-9",
                "amount": "$1.00",
                "due_date": "2024-01-30",
            },
        },
    )
    assert refused.status_code == 409, refused.text


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    make_links: MakeLinks,
) -> None:
    untrusted = await make_links(rate_limit_links="1/hour")
    tenant = await Api(await untrusted.client()).tenant()
    first, second = await new_emails(tenant, 2)
    direct = await untrusted.client(RECIPIENT)
    await direct.get(pixel(untrusted, first), headers={"X-Forwarded-For": "192.0.2.1"})
    assert (await email_object(tenant, first["id"]))["opened_time"] is not None
    # A made-up X-Forwarded-For does not make a client another one.
    await direct.get(pixel(untrusted, second), headers={"X-Forwarded-For": "192.0.2.2"})
    assert (await email_object(tenant, second["id"]))["opened_time"] is None

    proxied = await make_links(rate_limit_links="1/hour", trusted_proxies="10.0.0.0/8")
    tenant = await Api(await proxied.client()).tenant()
    first, second, third = await new_emails(tenant, 3)
    proxy = await proxied.client("10.1.2.3")
    await proxy.get(pixel(proxied, first), headers={"X-Forwarded-For": "192.0.2.1, 10.9.9.9"})
    # Behind the trusted proxy, each client is counted by its own address...
    await proxy.get(pixel(proxied, second), headers={"X-Forwarded-For": "192.0.2.2"})
    # ...which a client cannot change by sending an X-Forwarded-For of its own.
    await proxy.get(pixel(proxied, third), headers={"X-Forwarded-For": "192.0.2.9, 192.0.2.1"})
    opened = [(await email_object(tenant, e["id"]))["opened_time"] for e in (first, second, third)]
    assert [o is not None for o in opened] == [True, True, False]


async def test_ipv6_clients_are_counted_by_their_64_bit_prefix(make_links: MakeLinks) -> None:
    links = await make_links(rate_limit_links="1/hour")
    tenant = await Api(await links.client()).tenant()
    first, second, third = await new_emails(tenant, 3)
    await (await links.client("2001:db8:1:2::1")).get(pixel(links, first))
    # The same /64 (a client can pick any address in it) is the same client...
    await (await links.client("2001:db8:1:2:ffff::9")).get(pixel(links, second))
    # ...another /64 another one.
    await (await links.client("2001:db8:1:3::1")).get(pixel(links, third))

    opened = [(await email_object(tenant, e["id"]))["opened_time"] for e in (first, second, third)]
    assert [o is not None for o in opened] == [True, False, True]


async def test_link_limit_can_be_turned_off(make_links: MakeLinks) -> None:
    links = await make_links(rate_limit_links="")
    tenant = await Api(await links.client()).tenant()
    emails = await new_emails(tenant, 3)
    recipient = await links.client(RECIPIENT)
    for email in emails:
        await recipient.get(pixel(links, email))

    for email in emails:
        assert (await email_object(tenant, email["id"]))["opened_time"] is not None


async def test_link_limit_is_shared_by_replicas_through_redis(
    make_links: MakeLinks, redis_url: str
) -> None:
    replicas = [await make_links(rate_limit_links="2/hour", redis_url=redis_url) for _ in range(2)]
    tenant = await Api(await replicas[0].client()).tenant()
    emails = await new_emails(tenant, 3)
    # An address of this run alone: Redis keeps its counts from one run to the next.
    address = f"2001:db8:{secrets.randbits(16):x}:{secrets.randbits(16):x}::1"

    for n, email in enumerate(emails):
        replica = replicas[n % 2]
        assert (await (await replica.client(address)).get(pixel(replica, email))).content == PIXEL

    opened = [(await email_object(tenant, e["id"]))["opened_time"] for e in emails]
    assert [o is not None for o in opened] == [True, True, False]


async def test_links_still_record_when_redis_is_unreachable(make_links: MakeLinks) -> None:
    links = await make_links(rate_limit_links="1/hour", redis_url=DEAD_REDIS_URL)
    tenant = await Api(await links.client()).tenant()
    emails = await new_emails(tenant, 2)
    recipient = await links.client(RECIPIENT)

    with capture_logs() as logs:
        for email in emails:
            assert (await recipient.get(pixel(links, email))).content == PIXEL

    # Failing open, as the API's own limits do: the outage costs no recipient anything.
    for email in emails:
        assert (await email_object(tenant, email["id"]))["opened_time"] is not None
    assert any(e["event"] == "ratelimit.storage_unavailable" for e in logs), logs
