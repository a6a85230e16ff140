"""Two accounts, A and B: B's key on A's ids finds nothing and changes nothing.

The matrix is built from the routes the app really serves, so a new object endpoint is either
covered here or fails ``test_matrix_covers_every_object_route``. Every case must leave the
database as it found it (checked row by row), so the cases share one world per backend.
The email links (open pixel, click, unsubscribe) take no key; their boundary is the signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from credira.app import create_app
from credira.auth.permissions import ALL_PERMISSIONS
from credira.config import Settings
from credira.email import tracking
from credira.email.tracking_endpoints import PIXEL
from credira.kit.ids import new_id
from tests.api.conftest import api_routes, query_params, snapshot_database
from tests.support import ADMIN_KEY, Api, Tenant, bearer

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Which kind of id each path or query parameter carries, and how it is written in a path
# ("{call}.txt": the call's id with a suffix).
PARAM_KIND = {
    "user_id": "user",
    "invoice_id": "invoice",
    "agent_id": "agent",
    "voice_agent_id": "agent",
    "callout_id": "callout",
    "call_id": "call",
    "account_id": "account",
    "template_id": "template",
    "email_id": "email",
    "event_id": "event",
    "plan_id": "plan",
    "job_id": "import",
    "webhook_id": "webhook",
    "delivery_id": "delivery",
}


@dataclass(frozen=True)
class Target:
    """How to call one route: a valid body where it takes one, and path values if not ids."""

    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)


# Every route with a path parameter, and how it is called (a valid body, so only ownership can
# make it fail). A route missing here fails the coverage test below.
PATH_ROUTES: dict[tuple[str, str], Target] = {
    ("GET", "/v1/users/{user_id}"): Target(),
    ("PUT", "/v1/users/{user_id}"): Target({"name": "Mallory", "status": "suspended"}),
    ("DELETE", "/v1/users/{user_id}"): Target(),
    ("POST", "/v1/users/{user_id}/rotate-key"): Target({"revoke_existing": True}),
    ("GET", "/v1/invoices/{invoice_id}"): Target(),
    ("PUT", "/v1/invoices/{invoice_id}"): Target({"status": "paid", "amount": "1.00"}),
    ("GET", "/v1/voice-agents/{agent_id}"): Target(),
    ("PUT", "/v1/voice-agents/{agent_id}"): Target({"name": "Mallory", "status": "inactive"}),
    ("DELETE", "/v1/voice-agents/{agent_id}"): Target(),
    ("GET", "/v1/callouts/{callout_id}"): Target(),
    ("GET", "/v1/callouts/{callout_id}/response"): Target(),
    ("PUT", "/v1/callouts/{callout_id}"): Target({"priority": "low", "metadata": {"by": "B"}}),
    ("DELETE", "/v1/callouts/{callout_id}"): Target(),
    ("POST", "/v1/callouts/{callout_id}/cancel"): Target({"reason": "not yours"}),
    ("GET", "/v1/calls/{call_id}"): Target(),
    ("GET", "/v1/email-templates/{template_id}"): Target(),
    ("PUT", "/v1/email-templates/{template_id}"): Target({"name": "Mallory", "status": "inactive"}),
    ("DELETE", "/v1/email-templates/{template_id}"): Target(),
    ("GET", "/v1/emails/{email_id}"): Target(),
    ("POST", "/v1/emails/{email_id}/reconcile"): Target({"outcome": "delivered"}),
    ("GET", "/v1/events/{event_id}"): Target(),
    ("GET", "/v1/collection-plans/{plan_id}"): Target(),
    ("PUT", "/v1/collection-plans/{plan_id}"): Target({"name": "Mallory", "is_default": True}),
    ("DELETE", "/v1/collection-plans/{plan_id}"): Target(),
    ("POST", "/v1/collection-plans/{plan_id}/preview"): Target({"due_date": "2030-01-01"}),
    ("GET", "/v1/invoices/{invoice_id}/schedule"): Target(),
    ("POST", "/v1/invoices/{invoice_id}/pause"): Target({"reason": "not yours"}),
    ("POST", "/v1/invoices/{invoice_id}/resume"): Target(),
    ("GET", "/v1/invoices/import/{job_id}"): Target(),
    ("GET", "/v1/webhooks/{webhook_id}"): Target(),
    ("PUT", "/v1/webhooks/{webhook_id}"): Target({"description": "Mallory", "enabled": False}),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Target(),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): Target({"grace_seconds": 0}),
    ("POST", "/v1/webhooks/{webhook_id}/test"): Target(),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Target(),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): Target(),
    ("GET", "/transcriptions/{name}"): Target(params={"name": "{call}.txt"}),
    ("GET", "/recordings/{name}"): Target(params={"name": "{call}.mp3"}),
}

# List endpoints that take an object id in the query: (method, path, parameter).
QUERY_ROUTES: set[tuple[str, str, str]] = {
    ("GET", "/v1/callouts", "invoice_id"),
    ("GET", "/v1/calls", "invoice_id"),
    ("GET", "/v1/emails", "callout_id"),
    ("GET", "/v1/email-templates", "account_id"),
    ("POST", "/v1/invoices/import", "plan_id"),
}

# The bodies of query routes that need one (as the route takes it).
QUERY_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/invoices/import"): {
        "content": "number,amount,currency,due_date,customer_name\nIMP-B,10.00,USD,2030-01-01,Bo\n",
        "headers": {"Content-Type": "text/csv"},
    },
}

# The links inside an email take no API key: the signed token in the path is the credential,
# so "B's key on A's id" does not apply to them. Their account boundary is the signature, and
# ``test_tracking_links_answer_only_to_a_token_this_app_signed`` covers them instead.
TOKEN_ROUTES: set[tuple[str, str]] = {
    ("GET", "/t/o/{token}.gif"),
    ("GET", "/t/c/{token}"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
}

# Routes with a path parameter that names no object of an account: the caller's own
# account's provider settings (a provider's name), and the providers' callbacks, whose
# credential is the provider's signature (tests/telephony checks that a forged one changes
# nothing).
OWN_ROUTES: set[tuple[str, str]] = {("PUT", "/v1/account/providers/{provider}")}
CALLBACK_PREFIX = "/hooks/"
# The dashboard's pages sign in with a session cookie, not a bearer key: their own matrix
# (another account's ids answered as missing ones, in pages, actions and list filters) is
# tests/dashboard/test_security.py::test_another_accounts_objects_are_missing.
DASHBOARD_PREFIX = "/dashboard/"

# List filters that take any object's id: another account's object filters to nothing, as an
# unknown id does (an empty list, not NOT_FOUND: the filter names no parent to look up).
FILTER_ROUTES: set[tuple[str, str, str]] = {
    ("GET", "/v1/events", "object_id"),
    ("GET", "/v1/events", "invoice_id"),
}

# Query parameters that carry an id but are cursors, not lookups: a foreign cursor only bounds
# the caller's own list.
CURSORS = {"starting_after"}


def _served() -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    app = create_app(Settings(admin_key=ADMIN_KEY))
    with_path: set[tuple[str, str]] = set()
    with_query_id: set[tuple[str, str, str]] = set()
    for method, path, route in api_routes(app):
        if path.startswith(DASHBOARD_PREFIX):
            continue
        if "{" in path:
            with_path.add((method, path))
        for name in query_params(route):
            if name.endswith("_id") and name not in CURSORS:
                with_query_id.add((method, path, name))
    return with_path, with_query_id


async def test_matrix_covers_every_object_route() -> None:
    with_path, with_query_id = _served()
    assert not TOKEN_ROUTES & set(PATH_ROUTES)
    callbacks = {(m, p) for m, p in with_path if p.startswith(CALLBACK_PREFIX)}
    assert with_path - callbacks == set(PATH_ROUTES) | TOKEN_ROUTES | OWN_ROUTES, (
        "add new routes with a path parameter to PATH_ROUTES"
    )
    assert with_query_id == QUERY_ROUTES | FILTER_ROUTES, (
        "add list routes taking an id in the query"
    )
    for (_method, path), target in PATH_ROUTES.items():
        for name in _path_params(path):
            assert name in PARAM_KIND or name in target.params, f"{path}: what is {name}?"
    assert all(name in PARAM_KIND for _m, _p, name in with_query_id - FILTER_ROUTES)


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@dataclass
class World:
    app: FastAPI
    a: Tenant
    b: Tenant
    ids: dict[str, str]  # kind -> one of A's objects of that kind
    b_invoice: dict[str, Any]
    b_agent: dict[str, Any]
    b_callout: dict[str, Any]
    b_template: dict[str, Any]


TEMPLATE: dict[str, Any] = {
    "name": "Payment Reminder Template",
    "subject": "Payment Reminder - Invoice #{{invoice_number}}",
    "html_content": "<html><body><p>Dear {{customer_name}}, please pay "
    '<a href="https://pay.example.com/inv">here</a>.</p></body></html>',
    "text_content": "Dear {{customer_name}}, please pay invoice #{{invoice_number}}.",
    "category": "payment_reminder",
}


async def _send_email(tenant: Tenant, template_id: str, **fields: Any) -> dict[str, Any]:
    """An email that stays ``scheduled``: the app here runs no worker."""
    body = {
        "template_id": template_id,
        "recipient_email": "john.doe@example.com",
        "scheduled_time": "2030-01-20T10:00:00Z",
        "variables": {"customer_name": "John Doe", "invoice_number": "INV-001"},
        **fields,
    }
    data: dict[str, Any] = (await tenant.ok("POST", "/v1/send-email", json=body))["data"]
    assert data["status"] == "scheduled"
    return data


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(shared_app: FastAPI, shared_api: Api) -> World:
    api = shared_api
    a = await api.tenant("Acme Corporation", permissions=list(ALL_PERMISSIONS))
    b = await api.tenant("Globex Inc", permissions=list(ALL_PERMISSIONS))
    invoice, agent, callout = await a.scenario()
    reply = await api.client.post(
        "/v1/users",
        json={
            "email": "second@acme.example.com",
            "name": "Jane Roe",
            "company": "Acme Corporation",
            "account_id": a.account_id,
        },
        headers=bearer(ADMIN_KEY),
    )
    assert reply.status_code == 201, reply.text
    second = reply.json()["data"]
    assert second["account_id"] == a.account_id
    call = await a.ok(
        "POST",
        "/v1/calls",
        json={
            "phone_number": "+14155550100",
            "invoice_id": invoice["id"],
            "voice_agent_id": agent["id"],
            "scheduled_time": "2030-01-20T10:00:00Z",
        },
    )
    template = (await a.ok("POST", "/v1/email-templates", json=TEMPLATE))["data"]
    email = await _send_email(a, template["id"], callout_id=callout["id"])
    assert email["callout_id"] == callout["id"]
    b_invoice, b_agent, b_callout = await b.scenario()
    b_template = (await b.ok("POST", "/v1/email-templates", json=TEMPLATE))["data"]
    plan = await a.created(
        "/v1/collection-plans",
        {"name": "Cadence", "steps": [{"offset_days": 1, "channels": ["email"]}]},
    )
    await a.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"plan_id": plan["id"]})
    csv = "number,amount,currency,due_date,customer_name\nIMP-1,10.00,USD,2030-01-01,Ann\n"
    job = await a.request(
        "POST", "/v1/invoices/import", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert job.status_code == 202, job.text
    webhook = await a.created(
        "/v1/webhooks", {"url": "https://hooks.example.com/credira", "event_types": ["callout.*"]}
    )
    test = await a.request("POST", f"/v1/webhooks/{webhook['id']}/test")
    assert test.status_code == 202, test.text
    ids = {
        "call": call["data"]["id"],
        "user": second["id"],
        "invoice": invoice["id"],
        "agent": agent["id"],
        "callout": callout["id"],
        "account": a.account_id,
        "template": template["id"],
        "email": email["id"],
        "event": (await a.ok("GET", "/v1/events", params={"limit": 1}))["data"][0]["id"],
        "plan": plan["id"],
        "import": job.json()["data"]["id"],
        "webhook": webhook["id"],
        "delivery": test.json()["data"]["delivery_id"],
    }
    return World(shared_app, a, b, ids, b_invoice, b_agent, b_callout, b_template)


async def _a_view(world: World) -> dict[str, Any]:
    """What A sees of its objects: every single-object GET and list, ``meta`` left out."""
    ids = world.ids
    paths = [
        f"/v1/users/{ids['user']}",
        f"/v1/invoices/{ids['invoice']}",
        f"/v1/voice-agents/{ids['agent']}",
        f"/v1/callouts/{ids['callout']}",
        f"/v1/callouts/{ids['callout']}/response",
        f"/v1/callouts?invoice_id={ids['invoice']}",
        f"/v1/calls/{ids['call']}",
        f"/v1/calls?invoice_id={ids['invoice']}",
        f"/v1/email-templates/{ids['template']}",
        f"/v1/email-templates?account_id={ids['account']}",
        f"/v1/emails/{ids['email']}",
        f"/v1/emails?callout_id={ids['callout']}",
        "/v1/invoices",
        "/v1/voice-agents",
        f"/v1/webhooks/{ids['webhook']}",
        f"/v1/webhooks/{ids['webhook']}/deliveries",
    ]
    view: dict[str, Any] = {}
    for path in paths:
        reply = await world.a.request("GET", path)
        assert reply.status_code == 200, (path, reply.text)
        body = reply.json()
        view[path] = {"etag": reply.headers.get("etag"), "data": body["data"]}
    return view


async def _error(reply: httpx.Response) -> dict[str, Any]:
    assert reply.headers["content-type"].startswith("application/json"), reply.text
    body = reply.json()
    assert body["success"] is False, body
    assert set(body) == {"success", "error", "meta"}
    assert body["meta"]["request_id"].startswith("req_")
    error: dict[str, Any] = body["error"]
    return error


def _fill(path: str, target: Target, ids: dict[str, str]) -> str:
    for name in _path_params(path):
        if name in target.params:
            value = target.params[name].format(**ids)
        else:
            value = ids[PARAM_KIND[name]]
        path = path.replace("{" + name + "}", value)
    return path


async def _assert_foreign_is_missing(
    b: Tenant,
    method: str,
    foreign: str,
    missing: str,
    body: dict[str, Any] | None,
    **request: Any,
) -> None:
    kwargs: dict[str, Any] = dict(request) if body is None else {"json": body}
    reply_missing = await b.request(method, missing, **kwargs)
    reply_foreign = await b.request(method, foreign, **kwargs)
    assert reply_missing.status_code == 404, reply_missing.text
    assert reply_foreign.status_code == 404, reply_foreign.text
    error_missing = await _error(reply_missing)
    error_foreign = await _error(reply_foreign)
    assert error_missing["code"] == "NOT_FOUND"
    assert error_foreign == error_missing
    assert "etag" not in reply_foreign.headers


@pytest.mark.parametrize(("method", "path"), sorted(PATH_ROUTES), ids=lambda v: str(v))
async def test_foreign_id_in_path_is_not_found_and_changes_nothing(
    world: World, method: str, path: str
) -> None:
    before_view = await _a_view(world)
    before_db = await snapshot_database(world.app)
    random_ids = {kind: new_id(kind) for kind in set(PARAM_KIND.values())}
    target = PATH_ROUTES[method, path]
    await _assert_foreign_is_missing(
        world.b,
        method,
        _fill(path, target, world.ids),
        _fill(path, target, random_ids),
        target.body,
    )
    assert await snapshot_database(world.app) == before_db
    assert await _a_view(world) == before_view


@pytest.mark.parametrize(("method", "path", "name"), sorted(QUERY_ROUTES), ids=lambda v: str(v))
async def test_foreign_id_in_query_is_not_found(
    world: World, method: str, path: str, name: str
) -> None:
    before_db = await snapshot_database(world.app)
    kind = PARAM_KIND[name]
    # A route that takes a body gets a valid one, so that only the id can make it fail.
    request = QUERY_BODIES.get((method, path), {})
    await _assert_foreign_is_missing(
        world.b,
        method,
        f"{path}?{name}={world.ids[kind]}",
        f"{path}?{name}={new_id(kind)}",
        None,
        **request,
    )
    assert await snapshot_database(world.app) == before_db


@pytest.mark.parametrize(("method", "path", "name"), sorted(FILTER_ROUTES), ids=lambda v: str(v))
async def test_foreign_id_in_a_filter_finds_nothing(
    world: World, method: str, path: str, name: str
) -> None:
    kind = "invoice" if name == "invoice_id" else "callout"
    own = await world.a.ok(method, path, params={name: world.ids[kind]})
    assert own["data"], "A sees the events of its own object"
    foreign = await world.b.ok(method, path, params={name: world.ids[kind]})
    unknown = await world.b.ok(method, path, params={name: new_id(kind)})
    assert foreign["data"] == unknown["data"] == []
    assert foreign["meta"]["total_events"] == unknown["meta"]["total_events"] == 0


def _callout_body(world: World, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "invoice_id": world.b_invoice["id"],
        "scheduled_time": "2030-01-20T10:00:00Z",
        "actions": {"calls_enabled": True, "voice_agent_id": world.b_agent["id"]},
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("case", "method", "path", "make_body"),
    [
        pytest.param(
            "invoice",
            "POST",
            "/v1/callouts",
            lambda w, i: _callout_body(w, invoice_id=i),
            id="create-callout-on-foreign-invoice",
        ),
        pytest.param(
            "agent",
            "POST",
            "/v1/callouts",
            lambda w, i: _callout_body(w, actions={"calls_enabled": True, "voice_agent_id": i}),
            id="create-callout-with-foreign-voice-agent",
        ),
        pytest.param(
            "agent",
            "PUT",
            "/v1/callouts/{own_callout}",
            lambda w, i: {"actions": {"voice_agent_id": i}},
            id="update-own-callout-to-foreign-voice-agent",
        ),
        pytest.param(
            "account",
            "POST",
            "/v1/users",
            lambda w, i: {
                "email": "intruder@globex.example.com",
                "name": "Mallory",
                "company": "Globex Inc",
                "account_id": i,
            },
            id="create-user-in-foreign-account",
        ),
        pytest.param(
            "template",
            "POST",
            "/v1/send-email",
            lambda w, i: {"template_id": i, "recipient_email": "jane@globex.example.com"},
            id="send-email-with-foreign-template",
        ),
        pytest.param(
            "callout",
            "POST",
            "/v1/send-email",
            lambda w, i: {
                "template_id": w.b_template["id"],
                "callout_id": i,
                "recipient_email": "jane@globex.example.com",
                "variables": {"customer_name": "Jane", "invoice_number": "G-1"},
            },
            id="send-own-template-email-for-foreign-callout",
        ),
    ],
)
async def test_body_naming_foreign_object_is_not_found(
    world: World,
    case: str,
    method: str,
    path: str,
    make_body: Callable[[World, str], dict[str, Any]],
) -> None:
    path = path.replace("{own_callout}", world.b_callout["id"])
    before_db = await snapshot_database(world.app)
    before_view = await _a_view(world)
    missing = await world.b.request(method, path, json=make_body(world, new_id(case)))
    foreign = await world.b.request(method, path, json=make_body(world, world.ids[case]))
    assert missing.status_code == 404, missing.text
    assert foreign.status_code == 404, foreign.text
    error = await _error(foreign)
    assert error["code"] == "NOT_FOUND"
    assert error == await _error(missing)
    assert await snapshot_database(world.app) == before_db
    assert await _a_view(world) == before_view


async def test_listing_templates_of_foreign_account_is_account_not_found(world: World) -> None:
    own = await world.b.request("GET", f"/v1/email-templates?account_id={world.b.account_id}")
    assert own.status_code == 200, own.text
    b_ids = {t["id"] for t in own.json()["data"]}
    a_list = await world.a.ok("GET", f"/v1/email-templates?account_id={world.a.account_id}")
    a_ids = {t["id"] for t in a_list["data"]}
    assert world.b_template["id"] in b_ids
    assert world.ids["template"] in a_ids
    assert not a_ids & b_ids

    foreign = await world.b.request("GET", f"/v1/email-templates?account_id={world.a.account_id}")
    assert foreign.status_code == 404, foreign.text
    error = await _error(foreign)
    assert error["code"] == "NOT_FOUND"
    assert error["message"] == "Account not found"
    assert world.ids["template"] not in foreign.text


# -- the links inside an email ----------------------------------------------------------------

TARGET = "https://pay.example.com/inv"
OTHER_KEY = b"another-deployment-signing-key-0123456789"


def _links(tracking_id: str, key: bytes) -> dict[str, str]:
    return {
        "open": f"/t/o/{tracking.open_token(tracking_id, key)}.gif",
        "click": f"/t/c/{tracking.click_token(tracking_id, TARGET, key)}",
        "unsubscribe": f"/u/{tracking.unsubscribe_token(tracking_id, key)}",
    }


async def _email_state(world: World, email_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await world.a.ok("GET", f"/v1/emails/{email_id}"))["data"]
    return {k: data[k] for k in ("opened_time", "clicked_time", "unsubscribed", "status")}


async def test_tracking_links_answer_only_to_a_token_this_app_signed(world: World) -> None:
    """The open pixel, click redirect and unsubscribe take no key: a token the app signed for
    an email is the credential. One for an unknown email, signed with another key, or signed
    for another purpose finds nothing (the pixel still answers its GIF) and changes nothing."""
    key: bytes = world.app.state.runtime.signing_key
    assert key
    # An email of its own: the genuine links below open, click and unsubscribe it.
    email = await _send_email(world.a, world.ids["template"], recipient_email="links@example.com")
    tracking_id = email["tracking_id"]
    genuine = _links(tracking_id, key)
    forged = {
        "unknown-email": _links(new_id("track"), key),
        "other-key": _links(tracking_id, OTHER_KEY),
        "other-purpose": {
            "open": f"/t/o/{tracking.unsubscribe_token(tracking_id, key)}.gif",
            "click": f"/t/c/{tracking.open_token(tracking_id, key)}",
            "unsubscribe": f"/u/{tracking.open_token(tracking_id, key)}",
        },
    }
    client = world.a.api.client
    untouched = {"opened_time": None, "clicked_time": None, "unsubscribed": False}
    assert await _email_state(world, email["id"]) == {**untouched, "status": "scheduled"}
    before_db = await snapshot_database(world.app)
    before_view = await _a_view(world)

    refusals: dict[tuple[str, str], dict[str, Any]] = {}
    for name, links in forged.items():
        pixel = await client.get(links["open"])
        assert pixel.status_code == 200, (name, pixel.text)
        assert pixel.headers["content-type"] == "image/gif"
        assert pixel.content == PIXEL
        for method, link in (
            ("GET", links["click"]),
            ("GET", links["unsubscribe"]),
            ("POST", links["unsubscribe"]),
        ):
            reply = await client.request(method, link, data={"List-Unsubscribe": "One-Click"})
            assert reply.status_code == 404, (name, method, link, reply.text)
            assert "location" not in reply.headers
            error = await _error(reply)
            assert error["code"] == "NOT_FOUND"
            refusals[name, f"{method} {link[:3]}"] = error
    # A forged token is told apart from an unknown one by nothing.
    for (_name, route), error in refusals.items():
        assert error == refusals["unknown-email", route]
    assert await snapshot_database(world.app) == before_db
    assert await _a_view(world) == before_view

    # The genuine links work, each once, on that email only.
    page = await client.get(genuine["unsubscribe"])
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert await snapshot_database(world.app) == before_db  # showing the page changes nothing

    pixel = await client.get(genuine["open"])
    assert pixel.status_code == 200
    assert pixel.content == PIXEL
    opened = await _email_state(world, email["id"])
    assert opened["opened_time"] is not None
    assert opened["clicked_time"] is None

    click = await client.get(genuine["click"])
    assert click.status_code == 302, click.text
    assert click.headers["location"] == TARGET
    clicked = await _email_state(world, email["id"])
    assert clicked["clicked_time"] is not None
    assert clicked["opened_time"] == opened["opened_time"]

    done = await client.post(genuine["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text
    assert (await _email_state(world, email["id"]))["unsubscribed"] is True
    again = await world.a.request(
        "POST",
        "/v1/send-email",
        json={
            "template_id": world.ids["template"],
            "recipient_email": "links@example.com",
            "variables": {"customer_name": "John Doe", "invoice_number": "INV-001"},
        },
    )
    assert again.status_code == 409, again.text
    # Only that email and its address's suppression changed: no other row, in either account.
    after_db = await snapshot_database(world.app)
    changed = {name for name, rows in after_db.items() if rows != before_db[name]}
    assert changed == {"emails", "suppressions", "events"}
    added_events = [r for r in after_db["events"] if r not in before_db["events"]]
    assert {r[1:4] for r in added_events} == {
        (world.a.account_id, f"email.{what}", email["id"])
        for what in ("opened", "clicked", "unsubscribed")
    }
    assert [r for r in after_db["emails"] if email["id"] not in r] == [
        r for r in before_db["emails"] if email["id"] not in r
    ]
    added = [r for r in after_db["suppressions"] if r not in before_db["suppressions"]]
    assert len(added) == 1
    assert world.a.account_id in added[0]
    assert "links@example.com" in added[0]
    assert await _a_view(world) == before_view
