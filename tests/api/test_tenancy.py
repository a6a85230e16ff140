"""Two accounts, A and B: B's key on A's ids finds nothing and changes nothing.

The matrix is built from the routes the app really serves, so a new object endpoint is either
covered here or fails ``test_matrix_covers_every_object_route``. Every case must leave the
database as it found it (checked row by row), so the cases share one world per backend.
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
    ("GET", "/transcriptions/{name}"): Target(params={"name": "{call}.txt"}),
    ("GET", "/recordings/{name}"): Target(params={"name": "{call}.mp3"}),
}

# List endpoints that take an object id in the query: (method, path, parameter).
QUERY_ROUTES: set[tuple[str, str, str]] = {
    ("GET", "/v1/callouts", "invoice_id"),
    ("GET", "/v1/calls", "invoice_id"),
}

# Query parameters that carry an id but are cursors, not lookups: a foreign cursor only bounds
# the caller's own list.
CURSORS = {"starting_after"}


def _served() -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    app = create_app(Settings(admin_key=ADMIN_KEY))
    with_path: set[tuple[str, str]] = set()
    with_query_id: set[tuple[str, str, str]] = set()
    for method, path, route in api_routes(app):
        if "{" in path:
            with_path.add((method, path))
        for name in query_params(route):
            if name.endswith("_id") and name not in CURSORS:
                with_query_id.add((method, path, name))
    return with_path, with_query_id


async def test_matrix_covers_every_object_route() -> None:
    with_path, with_query_id = _served()
    assert with_path == set(PATH_ROUTES), "add new routes with a path parameter to PATH_ROUTES"
    assert with_query_id == QUERY_ROUTES, "add list routes taking an id in the query"
    for (_method, path), target in PATH_ROUTES.items():
        for name in _path_params(path):
            assert name in PARAM_KIND or name in target.params, f"{path}: what is {name}?"
    assert all(name in PARAM_KIND for _m, _p, name in with_query_id)


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
    b_invoice, b_agent, b_callout = await b.scenario()
    ids = {
        "call": call["data"]["id"],
        "user": second["id"],
        "invoice": invoice["id"],
        "agent": agent["id"],
        "callout": callout["id"],
        "account": a.account_id,
    }
    return World(shared_app, a, b, ids, b_invoice, b_agent, b_callout)


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
        "/v1/invoices",
        "/v1/voice-agents",
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
    b: Tenant, method: str, foreign: str, missing: str, body: dict[str, Any] | None
) -> None:
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
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
    await _assert_foreign_is_missing(
        world.b,
        method,
        f"{path}?{name}={world.ids[kind]}",
        f"{path}?{name}={new_id(kind)}",
        None,
    )
    assert await snapshot_database(world.app) == before_db


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
