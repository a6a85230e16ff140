"""The collection plan endpoints: what they store and show, and bad input refused with the
documented codes and a message that says what to fix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _setup(api: Api) -> tuple[Tenant, str]:
    tenant = await api.tenant()
    agent = await tenant.agent()
    return tenant, str(agent["id"])


def _step(agent_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"offset_days": 1, "channels": ["call"], "voice_agent_id": agent_id}
    step.update(overrides)
    return step


async def _refused(
    tenant: Tenant, body: dict[str, Any], status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    reply = await tenant.request("POST", "/v1/collection-plans", json=body)
    assert reply.status_code == status, reply.text
    error: dict[str, Any] = reply.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field
    return error


async def test_bad_steps_are_refused_with_what_to_fix(shared_api: Api) -> None:
    tenant, agent = await _setup(shared_api)
    other, other_agent = await _setup(shared_api)

    unknown = {"name": "P", "steps": [_step(other_agent)]}
    error = await _refused(tenant, unknown, 422, "VALIDATION_ERROR", "steps.0.voice_agent_id")
    assert f"No voice agent {other_agent} in this account" in error["details"]

    template = {"name": "P", "steps": [_step(None, channels=["email"], template_id="template_x")]}
    error = await _refused(tenant, template, 422, "VALIDATION_ERROR", "steps.0.template_id")
    assert "GET /v1/email-templates" in error["details"]

    order = {"name": "P", "steps": [_step(agent, offset_days=7), _step(agent, offset_days=3)]}
    error = await _refused(tenant, order, 422, "VALIDATION_ERROR", "steps.1.offset_days")
    assert "Steps run in order" in error["details"]

    same = {"name": "P", "steps": [_step(agent, offset_days=3), _step(agent, offset_days=3)]}
    await _refused(tenant, same, 422, "VALIDATION_ERROR", "steps.1.offset_days")

    after = {
        "name": "P",
        "steps": [_step(agent), _step(agent, offset_days=0, anchor="previous_step")],
    }
    error = await _refused(tenant, after, 422, "VALIDATION_ERROR", "steps.1.offset_days")
    assert "at least 1 day after it" in error["details"]

    first = {"name": "P", "steps": [_step(agent, anchor="previous_step")]}
    await _refused(tenant, first, 422, "VALIDATION_ERROR", "steps.0.anchor")

    far = {"name": "P", "steps": [_step(agent, offset_days=400)]}
    error = await _refused(tenant, far, 422, "VALIDATION_ERROR", "steps.0.offset_days")
    assert "365" in error["details"]

    late = {"name": "P", "steps": [_step(agent, time="24:00")]}
    await _refused(tenant, late, 422, "VALIDATION_ERROR", "steps.0.time")

    window = {"name": "P", "steps": [_step(agent, time="10:00", window_end="09:00")]}
    error = await _refused(tenant, window, 422, "VALIDATION_ERROR", "steps.0.window_end")
    assert "must be later the same day" in error["details"]

    no_agent = {"name": "P", "steps": [_step(None)]}
    error = await _refused(tenant, no_agent, 422, "VALIDATION_ERROR", "steps.0.voice_agent_id")
    assert "needs a voice agent" in error["details"]

    twice = {"name": "P", "steps": [_step(agent, channels=["call", "call"])]}
    await _refused(tenant, twice, 422, "VALIDATION_ERROR", "steps.0.channels")

    await _refused(tenant, {"name": "P", "steps": []}, 422, "VALIDATION_ERROR", "steps")
    await _refused(tenant, {"name": "P", "steps": [_step(agent)], "x": 1}, 400, "INVALID_REQUEST")
    await _refused(tenant, {"steps": [_step(agent)]}, 400, "INVALID_REQUEST")
    listed = await tenant.ok("GET", "/v1/collection-plans")
    assert listed["data"] == []
    assert listed["meta"]["total_collection_plans"] == 0
    await other.ok("GET", "/v1/collection-plans")


async def test_plan_crud_and_the_default_plan(shared_api: Api) -> None:
    tenant, agent = await _setup(shared_api)
    body = {
        "name": "Gentle",
        "steps": [_step(None, offset_days=-2, channels=["email"]), _step(agent, offset_days=5)],
        "metadata": {"campaign_id": "camp_1"},
        "is_default": True,
    }
    plan = await tenant.created("/v1/collection-plans", body)
    assert plan["id"].startswith("plan_")
    assert plan["steps"][1] == {
        "offset_days": 5,
        "anchor": "due_date",
        "time": "10:00",
        "window_end": None,
        "channels": ["call"],
        "voice_agent_id": agent,
        "template_id": None,
        "priority": "medium",
        "type": "payment_reminder",
        "min_amount_due": None,
        "only_if_previous_unreached": False,
        "metadata": {},
    }
    # The account's default plan follows a new invoice that names none.
    invoice = await tenant.invoice(due_date="2099-06-01")
    assert invoice["plan_id"] == plan["id"]
    assert invoice["plan"]["status"] == "active"
    schedule = await tenant.ok("GET", f"/v1/invoices/{invoice['id']}/schedule")
    assert [e["step"] for e in schedule["data"]["entries"]] == [0, 1]

    second = await tenant.created("/v1/collection-plans", {**body, "name": "Firm"})
    first = await tenant.ok("GET", f"/v1/collection-plans/{plan['id']}")
    assert first["data"]["is_default"] is False
    assert second["is_default"] is True

    updated = await tenant.ok(
        "PUT",
        f"/v1/collection-plans/{plan['id']}",
        json={"metadata": {"campaign_id": None, "team": "b"}, "skip_weekends": True},
    )
    assert updated["data"]["metadata"] == {"team": "b"}
    assert updated["data"]["skip_weekends"] is True

    # Detached by hand, attached again by id; a plan of another account is not found.
    detached = await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"plan_id": None})
    assert detached["data"]["plan_id"] is None
    assert detached["data"]["plan"]["status"] == "stopped"
    other, _ = await _setup(shared_api)
    foreign = await other.created(
        "/v1/collection-plans", {"name": "X", "steps": [_step(None, channels=["email"])]}
    )
    reply = await tenant.request(
        "PUT", f"/v1/invoices/{invoice['id']}", json={"plan_id": foreign["id"]}
    )
    assert reply.status_code == 404, reply.text
    assert "GET /v1/collection-plans" in reply.json()["error"]["message"]
    assert (await tenant.request("GET", f"/v1/collection-plans/{foreign['id']}")).status_code == 404
    attached = await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"plan_id": plan["id"]})
    assert attached["data"]["plan"]["status"] == "active"

    # Deleting a plan stops the invoices following it.
    await tenant.ok("DELETE", f"/v1/collection-plans/{plan['id']}")
    after = await tenant.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert after["data"]["plan_id"] is None
    assert after["data"]["plan"]["status"] == "stopped"
    assert after["data"]["plan"]["reason"] == "plan deleted"
    gone = await tenant.request("GET", f"/v1/collection-plans/{plan['id']}")
    assert gone.status_code == 404
    bad_id = await tenant.request("GET", "/v1/collection-plans/inv_123")
    assert bad_id.status_code == 400


async def test_a_plan_that_calls_needs_calls_write(shared_api: Api) -> None:
    tenant, agent = await _setup(shared_api)
    limited = await shared_api.tenant(
        permissions=["plans:read", "plans:write", "callouts:write", "emails:write"]
    )
    agent_of_limited = (await tenant.agent())["id"]
    del agent_of_limited
    reply = await limited.request(
        "POST", "/v1/collection-plans", json={"name": "P", "steps": [_step(agent)]}
    )
    assert reply.status_code == 403, reply.text
    assert "calls:write" in reply.json()["error"]["message"]


async def test_preview_of_a_hypothetical_invoice(shared_api: Api) -> None:
    tenant, agent = await _setup(shared_api)
    plan = await tenant.created(
        "/v1/collection-plans",
        {
            "name": "P",
            "steps": [
                _step(None, offset_days=0, channels=["email"], time="07:00"),
                _step(agent, offset_days=1, time="07:00", min_amount_due="500.00"),
                _step(agent, offset_days=2, time="07:30"),
            ],
            "min_gap_hours": 72,
        },
    )
    body = {
        "due_date": "2099-03-02",
        "timezone": "Europe/Paris",
        "phone": "+33612345678",
        "amount": "100.00",
        "country": "FR",
    }
    preview = await tenant.ok("POST", f"/v1/collection-plans/{plan['id']}/preview", json=body)
    entries = preview["data"]["entries"]
    assert entries[0]["blocked"] == "no_email"
    assert entries[0]["dropped"] == ["no_email"]
    assert entries[1]["blocked"] == "below_min_amount"
    # Three days after the first step (the amount rule made step 1 none), at its own time.
    assert entries[2]["local_time"] == "2099-03-05T07:30:00+01:00"
    assert entries[2]["moved_by"] == ["min_gap"]
    # The calling window opens at 08:00: the call goes out then.
    assert entries[2]["call_rule"] == "outside_calling_window"
    assert entries[2]["call_time"] == "2099-03-05T07:00:00Z"
    nothing = await tenant.ok("GET", "/v1/invoices")
    assert nothing["meta"]["total_invoices"] == 0
