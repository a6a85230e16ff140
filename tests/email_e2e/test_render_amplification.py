"""Render amplification (issue 16, finding 3) through ``POST /v1/send-email``: a request whose
variables would make a template render megabytes is refused before it is rendered, and nothing is
stored or sent; a request near the limits is delivered whole."""

from __future__ import annotations

import time
from typing import Any

import pytest

from credira.config import Settings
from tests.email_e2e.helpers import (
    Mail,
    bodies,
    callout_settles,
    email_settles,
    new_address,
    send,
    template_id,
    tenant_with_callout,
)
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEFAULTS = Settings.model_construct()
TAGS_MAX = DEFAULTS.template_max_tags
VARIABLE_MAX = DEFAULTS.template_variable_max_chars
RENDERED_MAX = DEFAULTS.rendered_part_max_chars


async def _template(tenant: Tenant, html: str, text: str) -> str:
    body = {
        "name": "Amplifier",
        "subject": "Invoice {{ invoice_number }}",
        "category": "payment_reminder",
        "html_content": html,
        "text_content": text,
    }
    created = await tenant.ok("POST", "/v1/email-templates", json=body)
    return str(created["data"]["id"])


def _request(template: str, callout_id: str, recipient: str, **variables: Any) -> dict[str, Any]:
    return {
        "template_id": template,
        "callout_id": callout_id,
        "recipient_email": recipient,
        "recipient_name": "John Doe",
        "variables": variables,
    }


async def _nothing_stored(tenant: Tenant, mail: Mail, callout_id: str, recipient: str) -> None:
    listed = await tenant.ok("GET", "/v1/emails", params={"callout_id": callout_id})
    assert listed["data"] == []
    assert listed["meta"]["total_emails"] == 0
    assert mail.to(recipient) == []


@pytest.mark.parametrize(
    ("html", "text", "field"),
    [
        ("<p>{{a}}</p>" * TAGS_MAX, "Hello", "html_content"),
        ("<p>Hello</p>", "{{a}}\n" * TAGS_MAX, "text_content"),
    ],
)
async def test_render_amplification_send_email_is_refused_before_rendering_and_stores_nothing(
    api: Api, mail: Mail, html: str, text: str, field: str
) -> None:
    # A template the limits allow (300 placeholders) and a variable they allow (10 KiB): together
    # 3 MB of email, which is refused without being rendered or stored.
    tenant, _default, callout_id = await tenant_with_callout(api)
    template = await _template(tenant, html, text)
    recipient = new_address()
    started = time.monotonic()

    reply = await tenant.request(
        "POST", "/v1/send-email", json=_request(template, callout_id, recipient, a="x" * 10_240)
    )

    assert time.monotonic() - started < 2
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert error["message"] == f"Invalid value for {field}"
    assert f"longer than {RENDERED_MAX} characters" in error["details"]
    await _nothing_stored(tenant, mail, callout_id, recipient)


@pytest.mark.parametrize(
    ("variables", "field", "details"),
    [
        ({"a": "x" * (VARIABLE_MAX + 1)}, "variables.a", f"at most {VARIABLE_MAX} characters"),
        ({f"v{i}": "1" for i in range(101)}, "variables", "at most 100 variables"),
    ],
)
async def test_render_amplification_variables_past_their_limits_are_refused(
    api: Api, mail: Mail, variables: dict[str, Any], field: str, details: str
) -> None:
    tenant, _default, callout_id = await tenant_with_callout(api)
    template = await _template(tenant, "<p>{{ a | default('') }}</p>", "{{ a | default('') }}")
    recipient = new_address()

    reply = await tenant.request(
        "POST", "/v1/send-email", json=_request(template, callout_id, recipient, **variables)
    )

    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert (error["code"], error["field"]) == ("VALIDATION_ERROR", field)
    assert details in error["details"]
    await _nothing_stored(tenant, mail, callout_id, recipient)


async def test_render_amplification_send_email_near_the_limits_is_delivered(
    api: Api, mail: Mail
) -> None:
    # 25 placeholders of a 10 KiB variable (256,000 characters per part, under 262,144) and 100
    # variables: a request at the limits is rendered, stored and delivered whole.
    tenant, _default, callout_id = await tenant_with_callout(api)
    template = await _template(tenant, "{{a}}" * 25, "{{a}}" * 25)
    recipient = new_address()
    value = ("overdue " * 1280)[: VARIABLE_MAX - 1] + "."
    variables = {"a": value, **{f"v{i}": str(i) for i in range(99)}}

    data = await send(tenant, _request(template, callout_id, recipient, **variables))

    delivered = await email_settles(tenant, data["id"])
    assert delivered["status"] == "delivered", delivered
    [message] = mail.to(recipient)
    text, markup = bodies(message)
    assert value * 25 in text.replace("\r\n", "\n")
    assert value * 25 in markup.replace("\r\n", "\n")


async def test_render_amplification_callout_email_past_the_limit_is_not_written(
    api: Api, mail: Mail
) -> None:
    # The worker renders a callout's email from the invoice's data, which the client chose too:
    # 300 payment links of 2,000 characters would be 600,000 characters of HTML.
    recipient = new_address()
    tenant = await api.tenant()
    template = await template_id(tenant)
    await tenant.ok(
        "PUT", f"/v1/email-templates/{template}", json={"html_content": "{{ payment_link }} " * 300}
    )
    link = "https://pay.example.com/" + "x" * 1976
    invoice = await tenant.invoice(
        payment_url=link,
        customer={"name": "Jane Roe", "email": recipient, "phone": "+14155550100"},
    )
    body = {
        "invoice_id": invoice["id"],
        "actions": {"calls_enabled": False, "emails_enabled": True},
    }
    callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]

    finished = await callout_settles(tenant, callout["id"])

    assert finished["status"] == "failed", finished
    assert "Invalid value for html_content" in finished["status_reason"]
    await _nothing_stored(tenant, mail, callout["id"], recipient)
