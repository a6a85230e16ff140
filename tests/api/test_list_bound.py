"""A documented list asked for without ``limit`` answers every item up to
``CREDIRA_LIST_MAX_ITEMS``; past it the request is refused with a hint to page, never answered
with a list silently cut short. Here the bound is 3."""

from __future__ import annotations

import pytest

from credira.config import Settings
from tests.email_template.helpers import create_template
from tests.support import Api

BOUND = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"list_max_items": BOUND})


async def test_documented_list_past_its_bound_is_refused_never_cut_short(api: Api) -> None:
    tenant = await api.tenant()
    invoice, agent, _callout = await tenant.scenario()
    params = {"invoice_id": invoice["id"]}
    for _ in range(BOUND - 1):
        await tenant.callout(invoice["id"], agent["id"])

    whole = await tenant.ok("GET", "/v1/callouts", params=params)
    assert (len(whole["data"]), whole["meta"]["total_callouts"]) == (BOUND, BOUND)
    assert whole["meta"]["has_more"] is False

    await tenant.callout(invoice["id"], agent["id"])
    refused = await tenant.request("GET", "/v1/callouts", params=params)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert f"more than {BOUND} items" in error["message"]
    assert "limit" in error["message"]
    assert "starting_after" in error["message"]

    every = await tenant.ok("GET", "/v1/callouts", params={**params, "limit": 10})
    ids = [c["id"] for c in every["data"]]
    assert len(ids) == BOUND + 1
    paged = await tenant.ok("GET", "/v1/callouts", params={**params, "limit": BOUND})
    assert [c["id"] for c in paged["data"]] == ids[:BOUND]
    assert (paged["meta"]["has_more"], paged["meta"]["total_callouts"]) == (True, BOUND + 1)
    rest = await tenant.ok(
        "GET", "/v1/callouts", params={**params, "starting_after": ids[BOUND - 1]}
    )
    assert [c["id"] for c in rest["data"]] == ids[BOUND:]


async def test_the_bound_holds_for_documented_lists_only(api: Api) -> None:
    # Voice agents are our own list (a page of 100 by default); email templates are documented.
    tenant = await api.tenant()
    for n in range(BOUND + 1):
        await create_template(tenant, name=f"T{n}")
        await tenant.agent(name=f"Agent {n}")
    agents = await tenant.ok("GET", "/v1/voice-agents")
    assert (len(agents["data"]), agents["meta"]["has_more"]) == (BOUND + 1, False)
    templates = await tenant.request(
        "GET", "/v1/email-templates", params={"account_id": tenant.account_id}
    )
    assert templates.status_code == 400
    assert templates.json()["error"]["code"] == "INVALID_REQUEST"
