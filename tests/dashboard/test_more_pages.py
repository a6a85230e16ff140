"""The overview's panels, the lists of invoices, calls and emails, the reconciliation of an
unconfirmed email and the editors of voice agents, email templates and plans, over HTTP on
both databases: what a signed-in user sees, what each action changes (read back through the
API), the API's permissions, CSRF, and another account's objects shown as missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from credira.callout.state import CalloutStatus
from credira.email.state import EmailStatus
from credira.kit.ids import new_id, new_token
from credira.models import Call
from tests import factories
from tests.conftest import PUBLIC_URL
from tests.dashboard.conftest import add_user, form_token, sign_in
from tests.dashboard.seed import plan_body
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

MISSING_EMAIL = "email_01jzzzzzzzzzzzzzzzzzzzzzzz"


@dataclass(frozen=True)
class Scene:
    tenant: Tenant
    invoice: dict[str, Any]
    agent: dict[str, Any]
    plan: dict[str, Any]
    template: dict[str, Any]
    unconfirmed_id: str
    delivered_id: str
    held_id: str


async def _scene(app: FastAPI, client: httpx.AsyncClient, company: str) -> Scene:
    tenant = await Api(client).tenant(company)
    agent = await tenant.agent()
    plan = await tenant.created("/v1/collection-plans", plan_body(agent["id"]))
    invoice = await tenant.invoice(
        customer={
            "name": "Kenji Sato",
            "email": "kenji@example.com",
            "phone": "+14155550100",
            "timezone": "Asia/Tokyo",
        }
    )
    templates = (
        await tenant.ok("GET", "/v1/email-templates", params={"account_id": tenant.account_id})
    )["data"]
    now = datetime.now(UTC)
    async with app.state.runtime.sessionmaker() as session:
        soon = factories.callout(
            tenant.account_id, invoice["id"], agent["id"], now, run_at=now + timedelta(hours=3)
        )
        held = factories.callout(
            tenant.account_id,
            invoice["id"],
            agent["id"],
            now,
            run_at=now + timedelta(hours=5),
            hold_reason="outside_calling_window",
        )
        done = factories.callout(
            tenant.account_id, invoice["id"], agent["id"], now, status=CalloutStatus.COMPLETED
        )
        session.add_all([soon, held, done])
        await session.flush()
        token = new_token()
        session.add(
            Call(
                id=new_id("call"),
                account_id=tenant.account_id,
                invoice_id=invoice["id"],
                callout_id=done.id,
                attempt_id=f"attempt_{token}",
                attempt_number=1,
                idempotency_key=f"call:{token}",
                provider="simulator",
                to_number=factories.PHONE,
                status="completed",
                call_purpose="payment_reminder",
                scheduled_time=now,
                placed_time=now - timedelta(minutes=5),
                answered=True,
                outcome="promise_to_pay",
                keywords=[],
                tags=[],
                metadata_={},
                created_time=now,
                updated_time=now,
            )
        )
        unconfirmed = factories.email(
            tenant.account_id,
            now - timedelta(hours=1),
            status=EmailStatus.UNCONFIRMED,
            invoice_id=invoice["id"],
            subject=f"Unconfirmed reminder for {company}",
            sent_time=now - timedelta(hours=1),
        )
        delivered = factories.email(
            tenant.account_id,
            now,
            status=EmailStatus.DELIVERED,
            subject=f"Delivered reminder for {company}",
        )
        session.add_all([unconfirmed, delivered])
        await session.commit()
    return Scene(tenant, invoice, agent, plan, templates[0], unconfirmed.id, delivered.id, held.id)


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    # The test client speaks plain http: a Secure cookie would not be sent back.
    return {"dashboard_cookie_secure": False}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scenes(shared_app: FastAPI, shared_client: httpx.AsyncClient) -> tuple[Scene, Scene]:
    return (
        await _scene(shared_app, shared_client, "Owner Ltd"),
        await _scene(shared_app, shared_client, "Other Co"),
    )


@pytest_asyncio.fixture(loop_scope="module")
async def browser(shared_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, not following redirects."""
    transport = httpx.ASGITransport(app=shared_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


def _alert(html: str) -> str:
    return html.split('role="alert">', 1)[1].split("<", 1)[0]


async def test_the_overview_shows_the_accounts_panels(
    scenes: tuple[Scene, Scene], browser: httpx.AsyncClient
) -> None:
    mine, theirs = scenes
    await sign_in(browser, mine.tenant.key)
    page = (await browser.get("/dashboard")).text
    # The next hours: the invoice's contacts at the debtor's local time (Tokyo).
    assert 'id="upcoming-chart"' in page
    assert "2 due" in page
    assert page.count("Asia/Tokyo") >= 2
    assert "outside_calling_window" in page
    # Calls and outcomes per day (chart and table), the worker's health.
    assert '<title id="outcomes-chart-title">' in page
    assert '<th scope="col">Promise to pay</th>' in page
    assert 'id="health-unconfirmed">1<' in page
    assert "Unconfirmed reminder for Owner Ltd" in page
    assert "Other Co" not in page
    fragment = await browser.get("/dashboard/overview/panels", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.startswith('<div id="overview-panels"')
    assert "<html" not in fragment.text
    assert theirs.unconfirmed_id not in fragment.text


async def test_a_reader_of_callouts_only_sees_no_money_or_emails(
    shared_client: httpx.AsyncClient, scenes: tuple[Scene, Scene], browser: httpx.AsyncClient
) -> None:
    mine, _ = scenes
    key = await add_user(shared_client, mine.tenant.account_id, ["callouts:read"])
    await sign_in(browser, key)
    page = (await browser.get("/dashboard")).text
    assert 'id="upcoming-chart"' in page
    assert "money-heading" not in page
    assert "outcomes-chart" not in page
    assert "health-unconfirmed" not in page
    assert (await browser.get("/dashboard/emails")).status_code == 403
    assert (await browser.get("/dashboard/invoices")).status_code == 403


async def test_lists_filter_and_page(
    scenes: tuple[Scene, Scene], browser: httpx.AsyncClient
) -> None:
    mine, theirs = scenes
    await sign_in(browser, mine.tenant.key)
    invoices = await browser.get("/dashboard/invoices")
    assert mine.invoice["number"] in invoices.text
    assert f"/dashboard/invoices/{theirs.invoice['id']}" not in invoices.text
    assert (
        mine.invoice["number"]
        not in (await browser.get("/dashboard/invoices", params={"status": "paid"})).text
    )

    calls = await browser.get("/dashboard/calls", params={"outcome": "promise_to_pay"})
    assert calls.status_code == 200
    assert "promise_to_pay" in calls.text
    assert (
        "No calls match"
        in (await browser.get("/dashboard/calls", params={"outcome": "dispute"})).text
    )

    emails = await browser.get("/dashboard/emails", params={"status": "unconfirmed"})
    assert mine.unconfirmed_id in emails.text
    assert mine.delivered_id not in emails.text
    assert theirs.unconfirmed_id not in emails.text
    # Newest first (by id), one a page, then the older one behind the "Older" link.
    newer, older_id = sorted([mine.delivered_id, mine.unconfirmed_id], reverse=True)
    first = await browser.get("/dashboard/emails", params={"limit": 1})
    assert f"/dashboard/emails/{newer}" in first.text
    assert f"/dashboard/emails/{older_id}" not in first.text
    link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = await browser.get(link.replace("&amp;", "&"))
    assert f"/dashboard/emails/{older_id}" in second.text
    assert f"/dashboard/emails/{newer}" not in second.text
    # A refresh (htmx) gets the list alone.
    fragment = await browser.get("/dashboard/emails", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="listing"')
    # Values a list does not know are refused with a page, not a 500.
    assert (await browser.get("/dashboard/calls", params={"status": "nope"})).status_code == 400
    assert (await browser.get("/dashboard/emails", params={"before": "x"})).status_code == 400
    assert (await browser.get("/dashboard/emails", params={"limit": "0"})).status_code == 400


async def test_reconcile_an_unconfirmed_email(
    shared_client: httpx.AsyncClient, scenes: tuple[Scene, Scene], browser: httpx.AsyncClient
) -> None:
    mine, theirs = scenes
    # A reader of emails sees the email, not the form, and is refused if it posts anyway.
    reader = await add_user(shared_client, mine.tenant.account_id, ["emails:read", "callouts:read"])
    token = await sign_in(browser, reader)
    shown = await browser.get(f"/dashboard/emails/{mine.unconfirmed_id}")
    assert "Was it delivered?" not in shown.text
    refused = await browser.post(
        f"/dashboard/emails/{mine.unconfirmed_id}/reconcile",
        data={"csrf_token": token, "outcome": "delivered"},
    )
    assert refused.status_code == 403
    assert "permission to reconcile this email" in _alert(refused.text)

    token = await sign_in(browser, mine.tenant.key)
    page = await browser.get(f"/dashboard/emails/{mine.unconfirmed_id}")
    assert "Was it delivered?" in page.text
    assert form_token(page.text) == token
    forged = await browser.post(
        f"/dashboard/emails/{mine.unconfirmed_id}/reconcile", data={"outcome": "delivered"}
    )
    assert forged.status_code == 403
    # Another account's email, and one that does not exist, are the same 404.
    for other in (theirs.unconfirmed_id, MISSING_EMAIL):
        missing = await browser.post(
            f"/dashboard/emails/{other}/reconcile",
            data={"csrf_token": token, "outcome": "delivered"},
        )
        assert missing.status_code == 404
        assert _alert(missing.text) == "Email not found"
    assert (await browser.get(f"/dashboard/emails/{theirs.unconfirmed_id}")).status_code == 404
    bad = await browser.post(
        f"/dashboard/emails/{mine.unconfirmed_id}/reconcile",
        data={"csrf_token": token, "outcome": "maybe"},
    )
    assert bad.status_code == 422
    done = await browser.post(
        f"/dashboard/emails/{mine.unconfirmed_id}/reconcile",
        data={"csrf_token": token, "outcome": "delivered", "note": "seen in the relay's log"},
    )
    assert done.status_code == 303, done.text
    email = (await mine.tenant.ok("GET", f"/v1/emails/{mine.unconfirmed_id}"))["data"]
    assert email["status"] == "delivered"
    again = await browser.post(
        f"/dashboard/emails/{mine.unconfirmed_id}/reconcile",
        data={"csrf_token": token, "outcome": "delivered"},
    )
    assert again.status_code == 409
    assert theirs.tenant  # the other account's email is untouched
    theirs_email = (await theirs.tenant.ok("GET", f"/v1/emails/{theirs.unconfirmed_id}"))["data"]
    assert theirs_email["status"] == "unconfirmed"


async def test_the_template_editor_previews_and_saves(
    scenes: tuple[Scene, Scene], browser: httpx.AsyncClient
) -> None:
    mine, theirs = scenes
    token = await sign_in(browser, mine.tenant.key)
    template = mine.template
    listed = await browser.get("/dashboard/templates")
    assert template["name"] in listed.text
    page = await browser.get(f"/dashboard/templates/{template['id']}")
    assert page.status_code == 200
    assert 'id="template-preview"' in page.text
    preview = await browser.post(
        "/dashboard/templates/preview",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={
            "subject": "Hello {{customer_name}}, {{amount}} is due",
            "html_content": "<p>Invoice {{invoice_number}}</p>",
            "text_content": "Invoice {{invoice_number}}",
        },
    )
    assert preview.status_code == 200
    assert 'id="preview-subject">Hello Jane Example, $1,250.00 is due<' in preview.text
    assert "INV-PREVIEW-1" in preview.text
    broken = await browser.post(
        "/dashboard/templates/preview",
        headers={"X-CSRF-Token": token},
        data={"subject": "{{ customer_name", "html_content": "x", "text_content": "x"},
    )
    assert 'class="notice error"' in broken.text
    # The HTML part is a document of its own: framed by the dashboard only, sandboxed.
    document = await browser.post(
        "/dashboard/templates/preview/email",
        data={
            "csrf_token": token,
            "subject": "s",
            "html_content": '<p style="color: red">Pay {{invoice_number}}</p>',
            "text_content": "t",
        },
    )
    assert document.text == '<p style="color: red">Pay INV-PREVIEW-1</p>'
    policy = document.headers["content-security-policy"]
    assert "sandbox" in policy
    assert "frame-ancestors 'self'" in policy
    assert "script-src" not in policy  # default-src 'none'
    saved_part = await browser.get(f"/dashboard/templates/{template['id']}/email")
    assert saved_part.status_code == 200
    assert "sandbox" in saved_part.headers["content-security-policy"]
    unknown = await browser.post(
        "/dashboard/templates/preview",
        headers={"X-CSRF-Token": token},
        data={"subject": "{{ nothing_known }}", "html_content": "x", "text_content": "x"},
    )
    assert "nothing_known" in unknown.text

    current = page.text.split('name="version" value="', 1)[1].split('"', 1)[0]
    fields = {
        "csrf_token": token,
        "version": current,
        "subject": "Invoice {{invoice_number}}: a reminder",
    }
    saved = await browser.post(f"/dashboard/templates/{template['id']}", data=fields)
    assert saved.status_code == 303, saved.text
    read = (await mine.tenant.ok("GET", f"/v1/email-templates/{template['id']}"))["data"]
    assert read["subject"] == "Invoice {{invoice_number}}: a reminder"
    # The same form again: its version is gone by, so the save is refused.
    stale = await browser.post(f"/dashboard/templates/{template['id']}", data=fields)
    assert stale.status_code == 412
    other = await browser.get(f"/dashboard/templates/{theirs.template['id']}")
    assert other.status_code == 404


async def test_the_agent_and_plan_editors_save_through_the_api_services(
    shared_client: httpx.AsyncClient, scenes: tuple[Scene, Scene], browser: httpx.AsyncClient
) -> None:
    mine, theirs = scenes
    token = await sign_in(browser, mine.tenant.key)
    agent_page = await browser.get(f"/dashboard/agents/{mine.agent['id']}")
    version = agent_page.text.split('name="version" value="', 1)[1].split('"', 1)[0]
    saved = await browser.post(
        f"/dashboard/agents/{mine.agent['id']}",
        data={"csrf_token": token, "version": version, "name": "Ava Two", "max_duration": "300"},
    )
    assert saved.status_code == 303, saved.text
    agent = (await mine.tenant.ok("GET", f"/v1/voice-agents/{mine.agent['id']}"))["data"]
    assert (agent["name"], agent["max_duration"]) == ("Ava Two", 300)
    assert "Ava Two" in (await browser.get("/dashboard/agents")).text
    assert (await browser.get(f"/dashboard/agents/{theirs.agent['id']}")).status_code == 404

    assert (await browser.get(f"/dashboard/plans/{theirs.plan['id']}")).status_code == 404
    plan_page = await browser.get(f"/dashboard/plans/{mine.plan['id']}")
    assert plan_page.status_code == 200
    version = plan_page.text.split('name="version" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "version": version, "name": "Gentler cadence"}
    bad = await browser.post(f"/dashboard/plans/{mine.plan['id']}", data={**form, "steps": "["})
    assert bad.status_code == 422
    steps = '[{"offset_days": 3, "channels": ["email"]}]'
    saved = await browser.post(f"/dashboard/plans/{mine.plan['id']}", data={**form, "steps": steps})
    assert saved.status_code == 303, saved.text
    plan = (await mine.tenant.ok("GET", f"/v1/collection-plans/{mine.plan['id']}"))["data"]
    assert plan["name"] == "Gentler cadence"
    assert [s["offset_days"] for s in plan["steps"]] == [3]

    # A reader of plans sees the editor disabled and is refused when it posts.
    reader = await add_user(shared_client, mine.tenant.account_id, ["plans:read", "callouts:read"])
    token = await sign_in(browser, reader)
    page = await browser.get(f"/dashboard/plans/{mine.plan['id']}")
    assert "<fieldset disabled>" in page.text
    refused = await browser.post(
        f"/dashboard/plans/{mine.plan['id']}", data={**form, "csrf_token": token, "steps": steps}
    )
    assert refused.status_code == 403
