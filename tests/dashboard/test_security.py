"""The dashboard over HTTP, on both databases: sessions (cookie flags, expiry, sign-out), CSRF
(forged and replayed forms), permissions as the API applies them, and another account's
objects indistinguishable from missing ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import update

from credira.models import DashboardSession
from tests.conftest import PUBLIC_URL
from tests.dashboard.conftest import add_user, form_token, sign_in
from tests.dashboard.seed import TRANSCRIPT, Story, seed
from tests.support import ADMIN_KEY, Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A well-formed id that names nothing.
MISSING_CALLOUT = "callout_01jzzzzzzzzzzzzzzzzzzzzzzz"


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    # The test client speaks plain http: a Secure cookie would not be sent back.
    return {"dashboard_cookie_secure": False}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def owner(shared_app: FastAPI, shared_client: httpx.AsyncClient) -> tuple[Tenant, Story]:
    tenant = await Api(shared_client).tenant("Owner Ltd")
    data = shared_app.state.runtime.settings.data_dir
    return tenant, await seed(tenant, shared_app.state.runtime.sessionmaker, Path(data))


@pytest_asyncio.fixture(loop_scope="module")
async def browser(shared_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own (its own cookie jar), not following redirects."""
    transport = httpx.ASGITransport(app=shared_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


def _alert(html: str) -> str:
    """The message of an error page."""
    return html.split('role="alert">', 1)[1].split("<", 1)[0]


async def _status(tenant: Tenant, callout_id: str) -> str:
    return str((await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]["status"])


async def test_pages_show_the_story(
    owner: tuple[Tenant, Story], browser: httpx.AsyncClient
) -> None:
    tenant, story = owner
    await sign_in(browser, tenant.key)
    overview = await browser.get("/dashboard")
    assert 'data-status="scheduled">1<' in overview.text
    listed = await browser.get("/dashboard/callouts", params={"status": "completed"})
    assert story.completed_id in listed.text
    assert story.scheduled_id not in listed.text
    detail = await browser.get(f"/dashboard/callouts/{story.completed_id}")
    assert "I will pay the full amount on Friday." in detail.text
    assert f'src="/dashboard/calls/{story.call_id}/recording"' in detail.text
    audio = await browser.get(f"/dashboard/calls/{story.call_id}/recording")
    assert audio.status_code == 200
    assert audio.content.startswith(b"RIFF")
    invoice = await browser.get(f"/dashboard/invoices/{story.invoice_id}")
    assert invoice.status_code == 200
    assert "Collection plan started" in invoice.text
    assert "Callout scheduled" in invoice.text
    assert TRANSCRIPT.splitlines()[1].split(": ")[1] in invoice.text
    assert 'id="schedule"' in invoice.text  # the plan's steps ahead
    # No personal data in the page's links: ids only.
    assert "john.doe" not in " ".join(
        part for part in invoice.text.split('"') if part.startswith("/dashboard")
    )


async def test_cookie_is_http_only_and_same_site(
    owner: tuple[Tenant, Story], browser: httpx.AsyncClient
) -> None:
    tenant, _ = owner
    form = await browser.get("/dashboard/sign-in")
    reply = await browser.post(
        "/dashboard/sign-in",
        data={"csrf_token": form_token(form.text), "api_key": tenant.key},
    )
    cookie = reply.headers["set-cookie"].lower()
    assert "credira_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert tenant.key.lower() not in cookie
    assert reply.headers["content-security-policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("key", ["credira_sk_not_a_key", ADMIN_KEY, ""])
async def test_sign_in_refuses_what_is_not_a_users_key(
    browser: httpx.AsyncClient, key: str
) -> None:
    form = await browser.get("/dashboard/sign-in")
    reply = await browser.post(
        "/dashboard/sign-in", data={"csrf_token": form_token(form.text), "api_key": key}
    )
    assert reply.status_code == 401
    assert not any("credira_session" in c for c in reply.headers.get_list("set-cookie"))
    assert (await browser.get("/dashboard")).status_code == 303


async def test_sign_in_form_from_elsewhere_is_refused(
    owner: tuple[Tenant, Story], browser: httpx.AsyncClient
) -> None:
    tenant, _ = owner
    # A form posted from another site: no token of this browser's sign-in page.
    reply = await browser.post(
        "/dashboard/sign-in", data={"csrf_token": "forged", "api_key": tenant.key}
    )
    assert reply.status_code == 403
    assert (await browser.get("/dashboard")).status_code == 303


async def test_forged_form_is_refused_and_changes_nothing(
    shared_client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    tenant = await Api(shared_client).tenant("Forged Inc")
    _, _, callout = await tenant.scenario()
    await sign_in(browser, tenant.key)
    path = f"/dashboard/callouts/{callout['id']}/cancel"
    for data in ({}, {"csrf_token": "0" * 64}, {"csrf_token": ""}):
        reply = await browser.post(path, data=data)
        assert reply.status_code == 403, data
        assert "Nothing was changed" in reply.text
    # A header token that is not the session's is no better.
    reply = await browser.post(path, headers={"X-CSRF-Token": "f" * 64, "HX-Request": "true"})
    assert reply.status_code == 403
    assert await _status(tenant, callout["id"]) == "scheduled"


async def test_form_replayed_after_sign_out_is_refused(
    shared_client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    tenant = await Api(shared_client).tenant("Replay Inc")
    _, _, callout = await tenant.scenario()
    csrf = await sign_in(browser, tenant.key)
    cookies = dict(browser.cookies)
    assert (await browser.post("/dashboard/sign-out", data={"csrf_token": csrf})).status_code == 303
    assert (await browser.get("/dashboard")).headers["location"] == "/dashboard/sign-in"
    # The old cookie and its form token, sent again: the session is gone.
    browser.cookies.clear()
    for name, value in cookies.items():
        browser.cookies.set(name, value)
    replay = await browser.post(
        f"/dashboard/callouts/{callout['id']}/cancel", data={"csrf_token": csrf}
    )
    assert replay.status_code == 401
    browser.cookies.clear()
    # Signed in again, the old form's token is not the new session's.
    await sign_in(browser, tenant.key)
    stale = await browser.post(
        f"/dashboard/callouts/{callout['id']}/cancel", data={"csrf_token": csrf}
    )
    assert stale.status_code == 403
    assert await _status(tenant, callout["id"]) == "scheduled"


@pytest.mark.parametrize("ended_by", ["idle", "absolute"])
async def test_expired_session_is_signed_out(
    shared_app: FastAPI,
    shared_client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    ended_by: str,
) -> None:
    tenant = await Api(shared_client).tenant("Expiry Inc")
    _, _, callout = await tenant.scenario()
    csrf = await sign_in(browser, tenant.key)
    assert (await browser.get("/dashboard")).status_code == 200
    past = datetime.now(UTC) - timedelta(minutes=1)
    settings = shared_app.state.runtime.settings
    if ended_by == "idle":
        values = {"last_seen_time": past - timedelta(minutes=settings.dashboard_idle_minutes)}
    else:
        values = {"expires_time": past}
    async with shared_app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(DashboardSession)
            .where(DashboardSession.account_id == tenant.account_id)
            .values(**values)
        )
        await session.commit()
    assert (await browser.get("/dashboard")).headers["location"] == "/dashboard/sign-in"
    reply = await browser.post(
        f"/dashboard/callouts/{callout['id']}/cancel", data={"csrf_token": csrf}
    )
    assert reply.status_code == 401
    assert await _status(tenant, callout["id"]) == "scheduled"


async def test_revoked_key_ends_its_sessions(
    shared_client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    tenant = await Api(shared_client).tenant("Rotate Inc")
    await sign_in(browser, tenant.key)
    rotated = await tenant.request("POST", f"/v1/users/{tenant.user_id}/rotate-key")
    assert rotated.status_code == 201, rotated.text
    assert (await browser.get("/dashboard")).status_code == 303


async def test_another_accounts_objects_are_missing(
    owner: tuple[Tenant, Story],
    shared_client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
) -> None:
    tenant, story = owner
    other = await Api(shared_client).tenant("Other Corp")
    csrf = await sign_in(browser, other.key)

    async def same_as_missing(path: str, ours: str, missing: str, method: str = "GET") -> None:
        data = {"csrf_token": csrf} if method == "POST" else None
        theirs = await browser.request(method, path, data=data)
        absent = await browser.request(method, path.replace(ours, missing), data=data)
        assert theirs.status_code == absent.status_code == 404, (path, theirs.text)
        assert _alert(theirs.text) == _alert(absent.text)

    cid, iid, call = story.completed_id, story.invoice_id, story.call_id
    missing_invoice = "inv_01jzzzzzzzzzzzzzzzzzzzzzzz"
    missing_call = "call_01jzzzzzzzzzzzzzzzzzzzzzzz"
    await same_as_missing(f"/dashboard/callouts/{cid}", cid, MISSING_CALLOUT)
    await same_as_missing(f"/dashboard/invoices/{iid}", iid, missing_invoice)
    await same_as_missing(f"/dashboard/calls/{call}/recording", call, missing_call)
    scheduled = story.scheduled_id
    path = f"/dashboard/callouts/{scheduled}/cancel"
    await same_as_missing(path, scheduled, MISSING_CALLOUT, "POST")
    await same_as_missing(f"/dashboard/invoices/{iid}/pause", iid, missing_invoice, "POST")
    await same_as_missing(f"/dashboard/invoices/{iid}/paid", iid, missing_invoice, "POST")
    listed = await browser.get("/dashboard/callouts", params={"invoice_id": iid})
    assert listed.status_code == 404
    everything = await browser.get("/dashboard/callouts")
    assert story.scheduled_id not in everything.text
    assert cid not in everything.text
    overview = await browser.get("/dashboard")
    assert 'data-status="scheduled">0<' in overview.text
    assert await _status(tenant, story.scheduled_id) == "scheduled"


async def test_permissions_apply_as_in_the_api(
    owner: tuple[Tenant, Story],
    shared_client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
) -> None:
    tenant, story = owner
    key = await add_user(shared_client, tenant.account_id, ["callouts:read", "invoices:read"])
    csrf = await sign_in(browser, key)
    listed = await browser.get("/dashboard/callouts", params={"status": "scheduled"})
    assert story.scheduled_id in listed.text
    assert ">Cancel<" not in listed.text
    refused = await browser.post(
        f"/dashboard/callouts/{story.scheduled_id}/cancel", data={"csrf_token": csrf}
    )
    assert refused.status_code == 403
    assert "You don&#39;t have permission to cancel this callout" in refused.text
    assert await _status(tenant, story.scheduled_id) == "scheduled"
    # Without calls:read, no transcript and no recording; without events:read, no timeline.
    detail = await browser.get(f"/dashboard/callouts/{story.completed_id}")
    assert "I will pay" not in detail.text
    assert "<audio" not in detail.text
    assert (await browser.get(f"/dashboard/calls/{story.call_id}/recording")).status_code == 403
    invoice = await browser.get(f"/dashboard/invoices/{story.invoice_id}")
    assert "needs the events:read permission" in invoice.text
    assert "Pause plan" not in invoice.text
    assert "Mark paid" not in invoice.text
    paid = await browser.post(
        f"/dashboard/invoices/{story.invoice_id}/paid", data={"csrf_token": csrf}
    )
    assert paid.status_code == 403

    # Without callouts:read, no callout page at all.
    key = await add_user(shared_client, tenant.account_id, ["invoices:read"])
    await sign_in_without_overview(browser, key)
    assert (await browser.get("/dashboard/callouts")).status_code == 403


async def sign_in_without_overview(client: httpx.AsyncClient, key: str) -> None:
    client.cookies.clear()
    page = await client.get("/dashboard/sign-in")
    reply = await client.post(
        "/dashboard/sign-in", data={"csrf_token": form_token(page.text), "api_key": key}
    )
    assert reply.status_code == 303


async def test_actions_change_what_the_api_shows(
    shared_client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    tenant = await Api(shared_client).tenant("Actions Inc")
    invoice, agent, callout = await tenant.scenario()
    csrf = await sign_in(browser, tenant.key)
    moved = await browser.post(
        f"/dashboard/callouts/{callout['id']}/reschedule",
        data={"csrf_token": csrf, "scheduled_time": "2031-02-03T04:05"},
    )
    assert moved.status_code == 303
    shown = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
    assert shown["scheduled_time"] == "2031-02-03T04:05:00Z"
    bad = await browser.post(
        f"/dashboard/callouts/{callout['id']}/reschedule",
        data={"csrf_token": csrf, "scheduled_time": "tomorrow"},
    )
    assert bad.status_code == 422
    added = await browser.post(
        f"/dashboard/invoices/{invoice['id']}/callouts",
        data={
            "csrf_token": csrf,
            "voice_agent_id": agent["id"],
            "calls_enabled": "on",
            "scheduled_time": "2031-01-01T09:00",
        },
    )
    assert added.status_code == 303
    new_id = added.headers["location"].rsplit("/", 1)[1]
    assert (await tenant.ok("GET", f"/v1/callouts/{new_id}"))["data"]["status"] == "scheduled"
    # An htmx request sends the token as a header and is told where to go next.
    htmx = await browser.post(
        f"/dashboard/callouts/{new_id}/reschedule",
        data={"scheduled_time": "2031-01-02T09:00"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert htmx.status_code == 204
    assert htmx.headers["hx-redirect"] == f"/dashboard/callouts/{new_id}"
    cancelled = await browser.post(
        f"/dashboard/callouts/{callout['id']}/cancel",
        data={"csrf_token": csrf, "back": "https://evil.example/"},
    )
    assert cancelled.headers["location"] == f"/dashboard/callouts/{callout['id']}"
    assert await _status(tenant, callout["id"]) == "cancelled"
    again = await browser.post(
        f"/dashboard/callouts/{callout['id']}/cancel", data={"csrf_token": csrf}
    )
    assert again.status_code == 409
    paid = await browser.post(
        f"/dashboard/invoices/{invoice['id']}/paid", data={"csrf_token": csrf}
    )
    assert paid.status_code == 303
    assert (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]["status"] == "paid"
    assert await _status(tenant, new_id) == "cancelled"  # settling cancels pending callouts
    no_plan = await browser.post(
        f"/dashboard/invoices/{invoice['id']}/pause", data={"csrf_token": csrf}
    )
    assert no_plan.status_code == 409
    assert "follows no collection plan" in no_plan.text


async def test_bad_input_is_a_page_never_a_500(
    owner: tuple[Tenant, Story], browser: httpx.AsyncClient
) -> None:
    tenant, story = owner
    csrf = await sign_in(browser, tenant.key)
    pages = {
        "/dashboard/callouts?status=bogus": 400,
        "/dashboard/callouts?starting_after=callout_%2Fx": 400,
        "/dashboard/callouts?invoice_id=nope": 400,
        "/dashboard/callouts/not-an-id": 400,
        "/dashboard/invoices/inv_%E2%9C%93": 400,
        "/dashboard/calls/call_01jzzzzzzzzzzzzzzzzzzzzzzz/recording": 404,
    }
    for path, status in pages.items():
        reply = await browser.get(path)
        assert reply.status_code == status, (path, reply.text[:300])
        assert 'role="alert"' in reply.text
    scheduled = f"/dashboard/callouts/{story.scheduled_id}"
    forms: list[tuple[str, Any, int]] = [
        (f"{scheduled}/reschedule", {"scheduled_time": ""}, 422),
        (f"{scheduled}/reschedule", {"scheduled_time": "31/02/2031"}, 422),
        (f"{scheduled}/cancel", {"reason": "x" * 501}, 422),
        (f"/dashboard/invoices/{story.invoice_id}/callouts", {"type": "bogus"}, 422),
        (f"/dashboard/invoices/{story.invoice_id}/callouts", {"voice_agent_id": "nope"}, 422),
        (
            f"/dashboard/invoices/{story.invoice_id}/callouts",
            {"voice_agent_id": "agent_01jzzzzzzzzzzzzzzzzzzzzzzz", "calls_enabled": "on"},
            404,
        ),
        (f"/dashboard/invoices/{story.invoice_id}/pause", {"reason": "r" * 201}, 422),
    ]
    for path, data, status in forms:
        reply = await browser.post(path, data={"csrf_token": csrf, **data})
        assert reply.status_code in (status, 400), (path, data, reply.status_code)
        assert 'role="alert"' in reply.text
    # Not a form at all, or not UTF-8: no token is read from it, so it is refused as forged.
    raw = await browser.post(
        f"{scheduled}/cancel",
        content=b"csrf_token=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert raw.status_code == 403
    assert await _status(tenant, story.scheduled_id) == "scheduled"
