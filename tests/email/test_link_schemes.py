"""Only http and https addresses become links in an email: a ``javascript:`` payment link (or
any variable that starts a link, or a template's own link) is refused when it is given, with a
``VALIDATION_ERROR`` naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

VARIABLES = {
    "customer_name": "John Doe",
    "invoice_number": "INV-001",
    "amount": "$1,250.00",
    "due_date": "2024-01-30",
}
# What browsers run as script, or what is not an absolute http(s) URL with a host.
NOT_HTTP = [
    "javascript:alert(document.cookie)",
    " JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "mailto:billing@acme.example",
    "/relative/pay",
    "//evil.example/protocol-relative",
    "https:///no-host",
    "https:\\\\evil.example",
]


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api


async def default_template(tenant: Tenant) -> str:
    listed = await tenant.ok("GET", "/v1/email-templates", params={"account_id": tenant.account_id})
    return str(listed["data"][0]["id"])


async def send(tenant: Tenant, template_id: str, **variables: Any) -> httpx.Response:
    return await tenant.request(
        "POST",
        "/v1/send-email",
        json={
            "template_id": template_id,
            "recipient_email": "john.doe@example.com",
            "variables": {**VARIABLES, **variables},
        },
    )


def assert_refused(reply: httpx.Response, field: str) -> None:
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert field in error["message"]


@pytest.mark.parametrize("link", NOT_HTTP)
async def test_javascript_payment_link_is_refused_naming_the_field(api: Api, link: str) -> None:
    tenant = await api.tenant()

    reply = await send(tenant, await default_template(tenant), payment_link=link)

    assert_refused(reply, "variables.payment_link")


async def test_http_and_https_payment_links_are_accepted(api: Api) -> None:
    tenant = await api.tenant()
    template = await default_template(tenant)

    for link in ("https://pay.example.com/i/1?x=1", "http://pay.example.com", "HTTPS://PAY.EX"):
        reply = await send(tenant, template, payment_link=link)
        assert reply.status_code == 201, reply.text
    # No link at all is no link to check.
    assert (await send(tenant, template, payment_link="")).status_code == 201


async def test_variable_that_starts_a_link_must_be_http(api: Api) -> None:
    tenant = await api.tenant()
    created = await tenant.ok(
        "POST",
        "/v1/email-templates",
        json={
            "name": "Portal",
            "subject": "Invoice {{ invoice_number }}",
            "category": "payment_reminder",
            "html_content": (
                "<p>{{ note }}</p><a href='{{ portal | trim }}'>Portal</a>"
                '<a href="https://acme.example/i/{{ invoice_number }}">Invoice</a>'
            ),
            "text_content": "{{ note }} {{ portal }}",
        },
    )
    template = created["data"]["id"]

    refused = await send(tenant, template, portal="javascript:alert(1)", note="n")
    # Only where it starts a link: as text, "javascript:" is just words.
    text = await send(tenant, template, portal="https://portal.acme.example", note="javascript:x")
    # After the scheme and host, a variable cannot change where a link goes.
    path = await send(
        tenant,
        template,
        portal="https://portal.acme.example",
        invoice_number="javascript:x",
        note="n",
    )

    assert_refused(refused, "variables.portal")
    assert text.status_code == 201, text.text
    assert path.status_code == 201, path.text


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", " JAVA&#9;SCRIPT:alert(1)", "data:text/html,x", "vbscript:x"],
)
async def test_template_with_a_javascript_link_is_refused(api: Api, href: str) -> None:
    tenant = await api.tenant()
    body = {
        "name": "Sneaky",
        "subject": "Hello",
        "category": "payment_reminder",
        "html_content": f'<p>Hi</p><a href="{href}">Pay</a>',
        "text_content": "Hi",
    }

    refused = await tenant.request("POST", "/v1/email-templates", json=body)
    template = await default_template(tenant)
    updated = await tenant.request(
        "PUT", f"/v1/email-templates/{template}", json={"html_content": body["html_content"]}
    )

    assert_refused(refused, "html_content")
    assert_refused(updated, "html_content")
    kept = await tenant.ok("GET", f"/v1/email-templates/{template}")
    assert href not in kept["data"]["html_content"]


async def test_invoice_payment_url_without_a_host_is_refused(api: Api) -> None:
    tenant = await api.tenant()
    for url in ("https:///pay/INV-1", "http://", "https://?x=1"):
        reply = await tenant.request(
            "POST",
            "/v1/invoices",
            json={
                "number": "INV-1",
                "amount": "10.00",
                "currency": "USD",
                "due_date": "2024-01-30",
                "customer": {"name": "John Doe"},
                "payment_url": url,
            },
        )
        assert_refused(reply, "payment_url")
