"""The lists Credira's documentation shows without pages (callouts and calls of an invoice,
emails of a callout, email templates) answer the whole list when no ``limit`` is sent, as a
client written from that documentation expects; ``limit`` and ``starting_after`` page them on
request. Our own lists (invoices, users, voice agents) keep their default page of 100.

One world per backend: an invoice with 101 calls (each ``POST /v1/calls`` also makes a callout
of the invoice), a callout with 101 emails, an account with 101 email templates (its two
defaults and 99 more) and 101 voice agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.email_template.helpers import create_template
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

COUNT = 101


@dataclass(frozen=True)
class World:
    tenant: Tenant
    # list name -> (path, query naming the parent, meta total key)
    lists: dict[str, tuple[str, dict[str, str], str]]
    ids: dict[str, list[str]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(shared_api: Api) -> World:
    tenant = await shared_api.tenant()
    invoice, agent, callout = await tenant.scenario()
    callouts = [callout["id"]]
    calls: list[str] = []
    for _ in range(COUNT):
        reply = await tenant.ok(
            "POST",
            "/v1/calls",
            json={
                "phone_number": "+14155550100",
                "invoice_id": invoice["id"],
                "voice_agent_id": agent["id"],
                "scheduled_time": "2030-01-20T10:00:00Z",
            },
        )
        calls.append(reply["data"]["id"])
    listed = await tenant.ok(
        "GET", "/v1/callouts", params={"invoice_id": invoice["id"], "limit": 1000}
    )
    callouts = [c["id"] for c in listed["data"]]
    assert len(callouts) == COUNT + 1
    defaults = await tenant.ok(
        "GET", "/v1/email-templates", params={"account_id": tenant.account_id}
    )
    templates = [t["id"] for t in defaults["data"]]
    while len(templates) < COUNT:
        templates.append((await create_template(tenant, name=f"T{len(templates)}"))["id"])
    emails: list[str] = []
    for _ in range(COUNT):
        reply = await tenant.ok(
            "POST",
            "/v1/send-email",
            json={
                "template_id": templates[0],
                "recipient_email": "john.doe@example.com",
                "callout_id": callout["id"],
                "scheduled_time": "2030-01-20T10:00:00Z",
            },
        )
        emails.append(reply["data"]["id"])
    agents = [agent["id"]]
    while len(agents) < COUNT:
        agents.append((await tenant.agent(name=f"Agent {len(agents)}"))["id"])
    return World(
        tenant,
        {
            "callouts": ("/v1/callouts", {"invoice_id": invoice["id"]}, "total_callouts"),
            "calls": ("/v1/calls", {"invoice_id": invoice["id"]}, "total_calls"),
            "emails": ("/v1/emails", {"callout_id": callout["id"]}, "total_emails"),
            "templates": (
                "/v1/email-templates",
                {"account_id": tenant.account_id},
                "total_templates",
            ),
        },
        {
            "callouts": sorted(callouts),
            "calls": sorted(calls),
            "emails": sorted(emails),
            "templates": sorted(templates),
        },
    )


DOCUMENTED = ["callouts", "calls", "emails", "templates"]


async def _list(world: World, name: str, **params: Any) -> dict[str, Any]:
    path, parent, _total = world.lists[name]
    return await world.tenant.ok("GET", path, params={**parent, **params})


@pytest.mark.parametrize("name", DOCUMENTED)
async def test_documented_lists_do_not_stop_at_100_items_without_limit(
    world: World, name: str
) -> None:
    body = await _list(world, name)
    total = world.lists[name][2]
    expected = world.ids[name]
    assert len(expected) > 100
    assert [item["id"] for item in body["data"]] == expected
    assert body["meta"][total] == len(expected)
    assert body["meta"]["has_more"] is False


@pytest.mark.parametrize("name", DOCUMENTED)
async def test_documented_lists_page_with_limit_on_request(world: World, name: str) -> None:
    total = world.lists[name][2]
    expected = world.ids[name]
    first = await _list(world, name, limit=100)
    assert [item["id"] for item in first["data"]] == expected[:100]
    assert (first["meta"]["has_more"], first["meta"][total]) == (True, len(expected))
    rest = await _list(world, name, limit=100, starting_after=expected[99])
    assert [item["id"] for item in rest["data"]] == expected[100:]
    assert (rest["meta"]["has_more"], rest["meta"][total]) == (False, len(expected))
    # A cursor without a limit: everything after it.
    tail = await _list(world, name, starting_after=expected[49])
    assert [item["id"] for item in tail["data"]] == expected[50:]
    assert (tail["meta"]["has_more"], tail["meta"][total]) == (False, len(expected))


async def test_our_own_lists_keep_their_default_page_of_100(world: World) -> None:
    body = await world.tenant.ok("GET", "/v1/voice-agents")
    assert len(body["data"]) == 100
    assert (body["meta"]["has_more"], body["meta"]["total_voice_agents"]) == (True, COUNT)
