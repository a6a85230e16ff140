"""``ETag`` on single-object GET and PUT replies; ``If-Match`` refuses lost updates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from credira.auth.permissions import ALL_PERMISSIONS
from tests.support import Api, Tenant


@dataclass(frozen=True)
class Kind:
    """How to make one object of a kind and two different updates to it."""

    make: Callable[[Tenant], Awaitable[str]]
    collection: str
    field: str
    first: Any
    second: Any


async def _callout(tenant: Tenant) -> str:
    _invoice, _agent, callout = await tenant.scenario()
    return str(callout["id"])


async def _invoice(tenant: Tenant) -> str:
    return str((await tenant.invoice())["id"])


async def _agent(tenant: Tenant) -> str:
    return str((await tenant.agent())["id"])


async def _user(tenant: Tenant) -> str:
    return tenant.user_id


KINDS = {
    "callout": Kind(_callout, "callouts", "priority", "low", "urgent"),
    "invoice": Kind(_invoice, "invoices", "due_date", "2024-02-28", "2024-03-31"),
    "voice_agent": Kind(_agent, "voice-agents", "name", "Bea", "Cid"),
    "user": Kind(_user, "users", "name", "Jane Roe", "Jim Poe"),
}


async def _setup(api: Api, kind: str) -> tuple[Tenant, Kind, str]:
    tenant = await api.tenant(permissions=list(ALL_PERMISSIONS))
    spec = KINDS[kind]
    object_id = await spec.make(tenant)
    return tenant, spec, f"/v1/{spec.collection}/{object_id}"


async def _etag(tenant: Tenant, path: str) -> str:
    reply = await tenant.request("GET", path)
    assert reply.status_code == 200, reply.text
    etag = reply.headers.get("etag")
    assert etag, f"GET {path} has no ETag"
    return etag


@pytest.mark.parametrize("kind", list(KINDS))
async def test_get_and_put_carry_an_etag_that_moves_with_the_object(api: Api, kind: str) -> None:
    tenant, spec, path = await _setup(api, kind)
    before = await _etag(tenant, path)
    assert before == await _etag(tenant, path), "an unchanged object keeps its ETag"

    put = await tenant.request("PUT", path, json={spec.field: spec.first})

    assert put.status_code == 200, put.text
    assert put.headers.get("etag")
    assert put.headers["etag"] != before
    assert await _etag(tenant, path) == put.headers["etag"]


@pytest.mark.parametrize("kind", list(KINDS))
async def test_put_if_match_current_succeeds_and_stale_is_refused(api: Api, kind: str) -> None:
    tenant, spec, path = await _setup(api, kind)
    stale = await _etag(tenant, path)

    fresh = await tenant.request(
        "PUT", path, json={spec.field: spec.first}, headers={"If-Match": stale}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["data"][spec.field] == spec.first
    current = (await tenant.ok("GET", path))["data"]
    current_etag = await _etag(tenant, path)

    late = await tenant.request(
        "PUT", path, json={spec.field: spec.second}, headers={"If-Match": stale}
    )

    assert late.status_code == 412, late.text
    body = late.json()
    assert body["success"] is False
    assert body["error"]["code"] == "PRECONDITION_FAILED"
    assert body["meta"]["request_id"].startswith("req_")
    after = (await tenant.ok("GET", path))["data"]
    assert after[spec.field] == spec.first
    assert after == current
    assert await _etag(tenant, path) == current_etag


@pytest.mark.parametrize(
    "if_match",
    [pytest.param("*", id="star"), pytest.param('"999", {current}', id="list_with_current")],
)
async def test_if_match_star_or_list_with_current_etag_succeeds(api: Api, if_match: str) -> None:
    tenant, _spec, path = await _setup(api, "callout")
    current = await _etag(tenant, path)

    put = await tenant.request(
        "PUT",
        path,
        json={"priority": "urgent"},
        headers={"If-Match": if_match.format(current=current)},
    )

    assert put.status_code == 200, put.text
    assert put.json()["data"]["priority"] == "urgent"


async def test_cancelling_a_callout_moves_its_etag(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    path = f"/v1/callouts/{callout['id']}"
    before = await _etag(tenant, path)

    cancel = await tenant.request("POST", f"{path}/cancel", json={})

    assert cancel.status_code == 200, cancel.text
    after = await _etag(tenant, path)
    assert after != before
    assert cancel.headers.get("etag") == after
    stale = await tenant.request(
        "PUT", path, json={"priority": "low"}, headers={"If-Match": before}
    )
    # The callout is finished: that refusal comes first; a precondition is judged only for a
    # request that would otherwise succeed (RFC 9110 13.2.1).
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"


@pytest.mark.parametrize("status", ["paid", "void", "disputed"])
async def test_settling_an_invoice_moves_its_callouts_etag(api: Api, status: str) -> None:
    tenant = await api.tenant()
    invoice, _agent, callout = await tenant.scenario()
    path = f"/v1/callouts/{callout['id']}"
    before = await _etag(tenant, path)

    await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"status": status})

    after = await _etag(tenant, path)
    assert after != before
    assert (await tenant.ok("GET", path))["data"]["status"] == "cancelled"
    stale = await tenant.request(
        "PUT", path, json={"priority": "low"}, headers={"If-Match": before}
    )
    # The callout is finished: that refusal comes first; a precondition is judged only for a
    # request that would otherwise succeed (RFC 9110 13.2.1).
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"
