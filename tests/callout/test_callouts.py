"""Callout behaviour through the API: create, list, read, update, delete, cancel, and the state
rules of API.md §2 and §3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm.attributes import set_committed_value

from credira.auth.permissions import DEFAULT_PERMISSIONS
from credira.callout import service
from credira.kit.clock import FrozenClock
from credira.models import Callout
from tests.callout.helpers import TIME_RE, parse_time, set_status
from tests.support import Api, Tenant

FINISHED = ["completed", "failed", "cancelled"]


async def get_callout(tenant: Tenant, callout_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
    return data


async def list_callouts(tenant: Tenant, **params: Any) -> dict[str, Any]:
    return await tenant.ok("GET", "/v1/callouts", params=params)


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    if message is not None:
        assert body["error"]["message"] == message


# --- create ---------------------------------------------------------------------------------


async def test_create_callout_defaults(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    before = datetime.now(UTC).replace(microsecond=0)

    response = await tenant.request(
        "POST",
        "/v1/callouts",
        json={"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}},
    )

    after = datetime.now(UTC)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["meta"]["message"] == "Callout created successfully"
    data = body["data"]
    assert data["id"].startswith("callout_")
    assert data["invoice_id"] == invoice["id"]
    assert data["account_id"] == tenant.account_id
    assert data["status"] == "scheduled"
    assert data["type"] == "payment_reminder"
    assert data["priority"] == "medium"
    assert before <= parse_time(data["scheduled_time"]) <= after
    assert data["scheduled_time"] == data["created_time"] == data["updated_time"]
    customer = invoice["customer"]
    assert data["target_contact"] == {
        "name": customer["name"],
        "email": customer["email"],
        "phone": customer["phone"],
    }
    assert data["actions"] == {
        "calls_enabled": True,
        "emails_enabled": False,
        "voice_agent_id": agent["id"],
    }
    assert data["metadata"] == {}
    assert await get_callout(tenant, data["id"]) == data


async def test_create_callout_contact_overrides_the_customer_field_by_field(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()

    callout = await tenant.callout(
        invoice["id"],
        agent["id"],
        type="follow_up",
        target_contact={"name": "Jane Smith", "phone": "+14155550199"},
        scheduled_time="2030-01-20T12:00:00+02:00",
    )

    assert callout["type"] == "follow_up"
    assert callout["scheduled_time"] == "2030-01-20T10:00:00Z"
    assert callout["target_contact"] == {
        "name": "Jane Smith",
        "email": invoice["customer"]["email"],
        "phone": "+14155550199",
    }


@pytest.mark.parametrize(
    ("without", "body", "field"),
    [
        ((), {"actions": {"calls_enabled": True}}, "actions.voice_agent_id"),
        (("phone",), {}, "target_contact.phone"),
        ((), {"target_contact": {"phone": None}}, "target_contact.phone"),
        (("email",), {"actions": {"emails_enabled": True}}, "target_contact.email"),
        ((), {"actions": {"calls_enabled": False, "emails_enabled": False}}, "actions"),
    ],
    ids=[
        "calls-without-agent",
        "calls-without-phone",
        "phone-cleared",
        "emails-without-email",
        "no-action",
    ],
)
async def test_create_callout_refuses_a_plan_it_cannot_carry_out(
    api: Api, without: tuple[str, ...], body: dict[str, Any], field: str
) -> None:
    tenant = await api.tenant()
    customer = {"name": "John Doe", "email": "john.doe@example.com", "phone": "+14155550100"}
    invoice = await tenant.invoice(customer={k: v for k, v in customer.items() if k not in without})
    agent = await tenant.agent()
    payload: dict[str, Any] = {"invoice_id": invoice["id"], **body}
    if field != "actions.voice_agent_id":
        payload["actions"] = {"voice_agent_id": agent["id"], **payload.get("actions", {})}

    response = await tenant.request("POST", "/v1/callouts", json=payload)

    assert_error(response, 422, "VALIDATION_ERROR", f"Invalid value for {field}")
    assert (await list_callouts(tenant, invoice_id=invoice["id"]))["meta"]["total_callouts"] == 0


@pytest.mark.parametrize("invoice_status", ["paid", "void", "disputed"])
async def test_create_callout_on_a_settled_invoice_conflicts(api: Api, invoice_status: str) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"status": invoice_status})

    response = await tenant.request(
        "POST",
        "/v1/callouts",
        json={"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}},
    )

    assert_error(response, 409, "CONFLICT")
    assert invoice_status in response.json()["error"]["message"]
    assert (await list_callouts(tenant, invoice_id=invoice["id"]))["data"] == []


async def test_create_callout_for_an_unknown_invoice_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    agent = await tenant.agent()
    stranger = await api.tenant(company="Globex")
    theirs = await stranger.invoice()

    for invoice_id in ("inv_123456789", theirs["id"]):
        response = await tenant.request(
            "POST",
            "/v1/callouts",
            json={"invoice_id": invoice_id, "actions": {"voice_agent_id": agent["id"]}},
        )
        assert_error(response, 404, "NOT_FOUND", "Invoice not found")
    assert (await list_callouts(stranger, invoice_id=theirs["id"]))["data"] == []


# --- voice agents -----------------------------------------------------------------------------


@pytest.mark.parametrize("whose", ["unknown", "another-account"])
async def test_callout_voice_agent_must_belong_to_the_account(api: Api, whose: str) -> None:
    tenant = await api.tenant()
    invoice, _agent, callout = await tenant.scenario()
    agent_id = "agent_123456789"
    if whose == "another-account":
        agent_id = (await (await api.tenant(company="Globex")).agent())["id"]

    created = await tenant.request(
        "POST",
        "/v1/callouts",
        json={"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent_id}},
    )
    updated = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"actions": {"voice_agent_id": agent_id}}
    )

    assert_error(created, 404, "NOT_FOUND", "Voice agent not found")
    assert_error(updated, 404, "NOT_FOUND", "Voice agent not found")
    listed = await list_callouts(tenant, invoice_id=invoice["id"])
    assert listed["data"] == [callout]


async def test_callout_voice_agent_id_format_is_checked(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"actions": {"voice_agent_id": "ava"}}
    )
    assert_error(response, 400, "INVALID_REQUEST", "Invalid voice agent ID format")
    assert await get_callout(tenant, callout["id"]) == callout


# --- list -------------------------------------------------------------------------------------


async def test_list_callouts_of_an_invoice_without_callouts_is_empty(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    _other_invoice, _agent, _callout = await tenant.scenario()

    body = await list_callouts(tenant, invoice_id=invoice["id"])

    assert body["data"] == []
    assert body["meta"]["total_callouts"] == 0
    assert body["meta"]["has_more"] is False


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({}, 400, "INVALID_REQUEST", "Missing required parameter: invoice_id"),
        ({"invoice_id": "inv_123456789"}, 404, "NOT_FOUND", "Invoice not found"),
        ({"invoice_id": "invoice-1"}, 400, "INVALID_REQUEST", "Invalid invoice ID format"),
        ({"invoice_id": "{own}", "status": "paused"}, 422, "VALIDATION_ERROR", None),
        ({"invoice_id": "{own}", "limit": "0"}, 422, "VALIDATION_ERROR", None),
        ({"invoice_id": "{own}", "starting_after": "inv_1"}, 400, "INVALID_REQUEST", None),
    ],
    ids=[
        "missing-invoice-id",
        "unknown-invoice",
        "bad-invoice-id",
        "bad-status",
        "zero-limit",
        "bad-cursor",
    ],
)
async def test_list_callouts_refuses_bad_parameters(
    api: Api, params: dict[str, str], status: int, code: str, message: str | None
) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    params = {k: invoice["id"] if v == "{own}" else v for k, v in params.items()}
    response = await tenant.request("GET", "/v1/callouts", params=params)
    assert_error(response, status, code, message)


async def test_list_callouts_of_another_accounts_invoice_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    stranger = await api.tenant(company="Globex")
    invoice, _agent, _callout = await stranger.scenario()
    response = await tenant.request("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
    assert_error(response, 404, "NOT_FOUND", "Invoice not found")


async def test_list_callouts_filters_by_status(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    ids = [(await tenant.callout(invoice["id"], agent["id"]))["id"] for _ in range(4)]
    await tenant.ok("POST", f"/v1/callouts/{ids[0]}/cancel")
    await set_status(app, ids[1], "active")

    async def listed(status: str) -> tuple[list[str], int]:
        body = await list_callouts(tenant, invoice_id=invoice["id"], status=status)
        assert all(c["status"] == status for c in body["data"])
        return [c["id"] for c in body["data"]], body["meta"]["total_callouts"]

    assert await listed("scheduled") == (sorted(ids[2:]), 2)
    assert await listed("cancelled") == ([ids[0]], 1)
    assert await listed("active") == ([ids[1]], 1)
    assert await listed("completed") == ([], 0)


async def test_list_callouts_paginates_with_a_cursor(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    ids = sorted([(await tenant.callout(invoice["id"], agent["id"]))["id"] for _ in range(5)])
    # Another invoice's callouts never leak into the pages.
    await tenant.scenario()

    seen: list[str] = []
    pages: list[tuple[int, bool, int]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"invoice_id": invoice["id"], "limit": 2}
        if cursor is not None:
            params["starting_after"] = cursor
        body = await list_callouts(tenant, **params)
        page = [c["id"] for c in body["data"]]
        pages.append((len(page), body["meta"]["has_more"], body["meta"]["total_callouts"]))
        seen += page
        if not body["meta"]["has_more"]:
            break
        cursor = page[-1]

    assert seen == ids
    assert pages == [(2, True, 5), (2, True, 5), (1, False, 5)]
    after_last = await list_callouts(tenant, invoice_id=invoice["id"], starting_after=ids[-1])
    assert after_last["data"] == []
    assert after_last["meta"]["has_more"] is False


# --- get --------------------------------------------------------------------------------------


async def test_get_callout_returns_the_object_with_an_etag(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()

    response = await tenant.request("GET", f"/v1/callouts/{callout['id']}")

    assert response.status_code == 200
    assert response.json()["data"] == callout
    assert response.headers["ETag"]
    assert set(response.json()["meta"]) == {"timestamp", "request_id"}


@pytest.mark.parametrize(
    ("callout_id", "status", "code", "message"),
    [
        ("callout_123456789", 404, "NOT_FOUND", "Callout not found"),
        ("call_123456789", 400, "INVALID_REQUEST", "Invalid callout ID format"),
        ("callout_12345678%2A", 400, "INVALID_REQUEST", "Invalid callout ID format"),
    ],
)
async def test_get_callout_errors(
    api: Api, callout_id: str, status: int, code: str, message: str
) -> None:
    tenant = await api.tenant()
    response = await tenant.request("GET", f"/v1/callouts/{callout_id}")
    assert_error(response, status, code, message)


# --- update -----------------------------------------------------------------------------------


async def test_update_callout_merges_actions_contact_and_metadata(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, agent, callout = await tenant.scenario()

    body = await tenant.ok(
        "PUT",
        f"/v1/callouts/{callout['id']}",
        json={
            "actions": {"emails_enabled": True},
            "target_contact": {"name": "Jane Smith"},
            "metadata": {"department": None, "notes": "asked for a call back"},
        },
    )

    data = body["data"]
    assert data["actions"] == {
        "calls_enabled": True,
        "emails_enabled": True,
        "voice_agent_id": agent["id"],
    }
    assert data["target_contact"] == {**callout["target_contact"], "name": "Jane Smith"}
    assert data["metadata"] == {"campaign_id": "camp_123", "notes": "asked for a call back"}
    for unchanged in ("scheduled_time", "priority", "status", "type", "created_time"):
        assert data[unchanged] == callout[unchanged]
    assert await get_callout(tenant, callout["id"]) == data


async def test_update_racing_a_worker_write_is_a_conflict_and_changes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker may write the callout (an outcome, a hold) between this request's read and its
    write, advancing the version: the request answers 409, not 500, and changes nothing."""
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    original = service.update

    async def raced(
        session: Any, principal: Any, row: Callout, body: Any, now: datetime
    ) -> Callout:
        # As if the worker wrote the row after it was read: this copy is a version behind.
        set_committed_value(row, "version", row.version - 1)
        return await original(session, principal, row, body, now)

    monkeypatch.setattr(service, "update", raced)
    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"priority": "urgent"}
    )
    assert_error(response, 409, "CONFLICT")
    assert await get_callout(tenant, callout["id"]) == callout


async def test_update_callout_with_an_empty_body_changes_nothing_visible(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    body = await tenant.ok("PUT", f"/v1/callouts/{callout['id']}", json={})
    for key in set(callout) - {"updated_time"}:
        assert body["data"][key] == callout[key]


async def test_update_callout_refuses_a_plan_it_cannot_carry_out(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    for change in (
        {"actions": {"calls_enabled": False}},
        {"actions": {"voice_agent_id": None}},
        {"target_contact": {"phone": None}},
    ):
        response = await tenant.request("PUT", f"/v1/callouts/{callout['id']}", json=change)
        assert_error(response, 422, "VALIDATION_ERROR")
    assert await get_callout(tenant, callout["id"]) == callout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "completed"),
        ("type", "follow_up"),
        ("id", "callout_123456789"),
        ("account_id", "acc_123456789"),
        ("invoice_id", "inv_123456789"),
    ],
)
async def test_update_callout_read_only_field_is_invalid_request(
    api: Api, field: str, value: str
) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()

    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"priority": "low", field: value}
    )

    assert_error(response, 400, "INVALID_REQUEST")
    assert field in response.json()["error"]["message"]
    assert await get_callout(tenant, callout["id"]) == callout


async def test_update_callout_updated_time_advances_and_never_precedes_created_time(
    api: Api, app: FastAPI
) -> None:
    tenant = await api.tenant()
    start = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
    clock = FrozenClock(start)
    app.state.runtime.clock = clock
    _invoice, _agent, callout = await tenant.scenario()
    assert callout["created_time"] == callout["updated_time"] == "2031-03-01T12:00:00Z"
    path = f"/v1/callouts/{callout['id']}"

    clock.set(start + timedelta(hours=1))
    first = (await tenant.ok("PUT", path, json={"priority": "low"}))["data"]
    assert first["updated_time"] == "2031-03-01T13:00:00Z"
    assert first["created_time"] == callout["created_time"]

    clock.set(start + timedelta(hours=2, seconds=5))
    second = (await tenant.ok("PUT", path, json={"priority": "urgent"}))["data"]
    assert second["updated_time"] == "2031-03-01T14:00:05Z"

    # A clock that steps back (another host, NTP) never moves updated_time backwards.
    clock.set(start - timedelta(days=1))
    third = (await tenant.ok("PUT", path, json={"priority": "medium"}))["data"]
    assert parse_time(third["updated_time"]) >= parse_time(second["updated_time"])
    assert parse_time(third["updated_time"]) >= parse_time(third["created_time"])


@pytest.mark.parametrize("status", FINISHED)
async def test_update_finished_callout_conflicts(api: Api, app: FastAPI, status: str) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    await set_status(app, callout["id"], status)
    before = await get_callout(tenant, callout["id"])

    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"priority": "low"}
    )

    assert_error(response, 409, "CONFLICT")
    message = response.json()["error"]["message"]
    assert status in message
    assert message != "Cannot update callout that is currently active"
    assert await get_callout(tenant, callout["id"]) == before


async def test_update_active_callout_conflicts(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    await set_status(app, callout["id"], "active")
    before = await get_callout(tenant, callout["id"])

    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"metadata": {"notes": "x"}}
    )

    assert_error(response, 409, "CONFLICT", "Cannot update callout that is currently active")
    assert await get_callout(tenant, callout["id"]) == before


# --- delete -----------------------------------------------------------------------------------


async def test_delete_callout_then_get_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    invoice, _agent, callout = await tenant.scenario()
    path = f"/v1/callouts/{callout['id']}"

    body = await tenant.ok("DELETE", path)

    assert body["data"]["id"] == callout["id"]
    assert body["data"]["deleted"] is True
    assert TIME_RE.fullmatch(body["data"]["deleted_time"])
    items = body["data"]["deleted_items"]
    assert items["callout"] is True
    assert type(items["recordings"]) is int
    assert type(items["transcriptions"]) is int
    assert type(items["analytics"]) is bool
    assert body["meta"]["message"] == "Callout deleted successfully"
    assert_error(await tenant.request("GET", path), 404, "NOT_FOUND", "Callout not found")
    assert_error(await tenant.request("DELETE", path), 404, "NOT_FOUND", "Callout not found")
    assert_error(
        await tenant.request("PUT", path, json={"priority": "low"}),
        404,
        "NOT_FOUND",
        "Callout not found",
    )
    listed = await list_callouts(tenant, invoice_id=invoice["id"])
    assert listed["data"] == []
    assert listed["meta"]["total_callouts"] == 0


async def test_delete_active_callout_conflicts_and_keeps_it(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    await set_status(app, callout["id"], "active")
    before = await get_callout(tenant, callout["id"])

    response = await tenant.request("DELETE", f"/v1/callouts/{callout['id']}")

    assert_error(response, 409, "CONFLICT")
    assert "active" in response.json()["error"]["message"]
    assert await get_callout(tenant, callout["id"]) == before


async def test_delete_finished_callout_is_allowed(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    await set_status(app, callout["id"], "completed")
    await tenant.ok("DELETE", f"/v1/callouts/{callout['id']}")
    response = await tenant.request("GET", f"/v1/callouts/{callout['id']}")
    assert_error(response, 404, "NOT_FOUND", "Callout not found")


# --- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        ("scheduled", None, None),
        ("scheduled", {"reason": "customer paid by phone"}, "customer paid by phone"),
        ("active", {}, None),
    ],
    ids=["scheduled-no-body", "scheduled-with-reason", "active"],
)
async def test_cancel_pending_callout(
    api: Api, app: FastAPI, status: str, body: dict[str, Any] | None, reason: str | None
) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    if status != "scheduled":
        await set_status(app, callout["id"], status)

    kwargs: dict[str, Any] = {"json": body} if body is not None else {}
    reply = await tenant.ok("POST", f"/v1/callouts/{callout['id']}/cancel", **kwargs)

    data = reply["data"]
    assert reply["meta"]["message"] == "Callout cancelled successfully"
    assert data["status"] == "cancelled"
    assert data["status_reason"]
    if reason is not None:
        assert data["status_reason"] == reason
    assert TIME_RE.fullmatch(data["completed_time"])
    assert await get_callout(tenant, callout["id"]) == data


@pytest.mark.parametrize("status", FINISHED)
async def test_cancel_finished_callout_conflicts(api: Api, app: FastAPI, status: str) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    await set_status(app, callout["id"], status)
    before = await get_callout(tenant, callout["id"])

    response = await tenant.request("POST", f"/v1/callouts/{callout['id']}/cancel")

    assert_error(response, 409, "CONFLICT")
    assert status in response.json()["error"]["message"]
    assert await get_callout(tenant, callout["id"]) == before


async def test_cancel_unknown_callout_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    response = await tenant.request("POST", "/v1/callouts/callout_123456789/cancel")
    assert_error(response, 404, "NOT_FOUND", "Callout not found")


@pytest.mark.parametrize("how", ["cancel-callout", "invoice-paid"])
async def test_cancelling_a_requested_call_before_it_dialled_leaves_no_call_initiated(
    api: Api, how: str
) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    later = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    requested = await tenant.ok(
        "POST",
        "/v1/calls",
        json={
            "phone_number": "+14155550100",
            "invoice_id": invoice["id"],
            "voice_agent_id": agent["id"],
            "scheduled_time": later,
        },
    )
    call_id = requested["data"]["id"]
    call = (await tenant.ok("GET", f"/v1/calls/{call_id}"))["data"]
    assert call["status"] == "initiated"

    if how == "cancel-callout":
        await tenant.ok(
            "POST", f"/v1/callouts/{call['callout_id']}/cancel", json={"reason": "paid by phone"}
        )
    else:
        await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"status": "paid"})

    # The call was never dialled: it ends with its callout, and says so.
    call = (await tenant.ok("GET", f"/v1/calls/{call_id}"))["data"]
    assert call["status"] == "cancelled"
    assert parse_time(call["updated_time"]) >= parse_time(call["created_time"])
    listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    assert [(c["id"], c["status"]) for c in listed["data"]] == [(call_id, "cancelled")]
    report = await tenant.ok("GET", f"/v1/callouts/{call['callout_id']}/response")
    assert report["data"]["status"] == "cancelled"
    assert [r["status"] for r in report["data"]["responses"]] == ["cancelled"]


# --- the channels a key may use ---------------------------------------------------------------

CALLS_REFUSED = "You don't have permission to place calls: a callout that calls needs calls:write"
EMAILS_REFUSED = (
    "You don't have permission to send emails: a callout that emails needs emails:write"
)
CALLING = {"calls_enabled": True, "emails_enabled": False}
EMAILING = {"calls_enabled": False, "emails_enabled": True}


async def colleague_without(tenant: Tenant, permission: str) -> Tenant:
    """A user of ``tenant``'s account holding the default permissions but ``permission``."""
    granted = [p for p in DEFAULT_PERMISSIONS if p != permission]
    return await tenant.api.tenant(account_id=tenant.account_id, permissions=granted)


@pytest.mark.parametrize(
    ("lacking", "actions", "message"),
    [
        ("calls:write", CALLING, CALLS_REFUSED),
        ("calls:write", {}, CALLS_REFUSED),
        ("calls:write", {"calls_enabled": True, "emails_enabled": True}, CALLS_REFUSED),
        ("emails:write", EMAILING, EMAILS_REFUSED),
        ("emails:write", {"emails_enabled": True}, EMAILS_REFUSED),
    ],
    ids=["calls", "calls-by-default", "calls-and-emails", "emails", "emails-beside-calls"],
)
async def test_callouts_write_cannot_place_calls_or_send_emails_without_their_permissions(
    api: Api, lacking: str, actions: dict[str, Any], message: str
) -> None:
    """A key refused on POST /v1/calls (or /v1/send-email) must not get the worker to call (or
    email) through a callout."""
    owner = await api.tenant()
    invoice = await owner.invoice()
    agent = await owner.agent()
    limited = await colleague_without(owner, lacking)

    response = await limited.request(
        "POST",
        "/v1/callouts",
        json={"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"], **actions}},
    )

    assert_error(response, 403, "FORBIDDEN", message)
    assert (await list_callouts(owner, invoice_id=invoice["id"]))["meta"]["total_callouts"] == 0


@pytest.mark.parametrize(
    ("lacking", "actions"), [("calls:write", EMAILING), ("emails:write", CALLING)]
)
async def test_callouts_write_creates_callouts_on_the_channels_the_key_holds(
    api: Api, lacking: str, actions: dict[str, Any]
) -> None:
    owner = await api.tenant()
    invoice = await owner.invoice()
    agent = await owner.agent()
    limited = await colleague_without(owner, lacking)

    reply = await limited.ok(
        "POST",
        "/v1/callouts",
        json={"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"], **actions}},
    )

    assert reply["data"]["actions"] == {**actions, "voice_agent_id": agent["id"]}


@pytest.mark.parametrize(
    ("lacking", "start", "change", "message"),
    [
        ("calls:write", EMAILING, {"actions": {"calls_enabled": True}}, CALLS_REFUSED),
        ("emails:write", CALLING, {"actions": {"emails_enabled": True}}, EMAILS_REFUSED),
        # Any change to a callout that will call decides a call: whom, when, how urgently.
        ("calls:write", CALLING, {"target_contact": {"phone": "+14155550177"}}, CALLS_REFUSED),
        ("calls:write", CALLING, {"scheduled_time": "2030-01-21T10:00:00Z"}, CALLS_REFUSED),
        ("calls:write", CALLING, {"priority": "urgent"}, CALLS_REFUSED),
        ("emails:write", EMAILING, {"target_contact": {"email": "x@example.com"}}, EMAILS_REFUSED),
    ],
    ids=["turn-calls-on", "turn-emails-on", "phone", "time", "priority", "email"],
)
async def test_callouts_write_cannot_update_a_callout_to_call_or_email_without_permission(
    api: Api, lacking: str, start: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    owner = await api.tenant()
    invoice = await owner.invoice()
    agent = await owner.agent()
    callout = await owner.callout(
        invoice["id"], agent["id"], actions={**start, "voice_agent_id": agent["id"]}
    )
    limited = await colleague_without(owner, lacking)

    response = await limited.request("PUT", f"/v1/callouts/{callout['id']}", json=change)

    assert_error(response, 403, "FORBIDDEN", message)
    assert await get_callout(owner, callout["id"]) == callout


async def test_key_without_calls_write_may_stop_a_callout_calling(api: Api) -> None:
    owner = await api.tenant()
    invoice = await owner.invoice()
    agent = await owner.agent()
    both = {"calls_enabled": True, "emails_enabled": True, "voice_agent_id": agent["id"]}
    first = await owner.callout(invoice["id"], agent["id"], actions=both)
    second = await owner.callout(invoice["id"], agent["id"], actions=both)
    third = await owner.callout(invoice["id"], agent["id"], actions=both)
    limited = await colleague_without(owner, "calls:write")

    emails_only = await limited.ok(
        "PUT", f"/v1/callouts/{first['id']}", json={"actions": {"calls_enabled": False}}
    )
    cancelled = await limited.ok("POST", f"/v1/callouts/{second['id']}/cancel")
    await limited.ok("DELETE", f"/v1/callouts/{third['id']}")

    assert emails_only["data"]["actions"]["calls_enabled"] is False
    assert cancelled["data"]["status"] == "cancelled"
    assert (await list_callouts(owner, invoice_id=invoice["id"]))["meta"]["total_callouts"] == 2


# --- invoices settle their callouts ----------------------------------------------------------


@pytest.mark.parametrize("invoice_status", ["paid", "void", "disputed"])
async def test_settling_the_invoice_cancels_its_scheduled_callouts(
    api: Api, app: FastAPI, invoice_status: str
) -> None:
    tenant = await api.tenant()
    invoice, agent, first = await tenant.scenario()
    second = await tenant.callout(invoice["id"], agent["id"], priority="low")
    done = await tenant.callout(invoice["id"], agent["id"])
    await set_status(app, done["id"], "completed")
    done = await get_callout(tenant, done["id"])
    _other_invoice, _other_agent, elsewhere = await tenant.scenario()

    await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"status": invoice_status})

    for callout in (first, second):
        current = await get_callout(tenant, callout["id"])
        assert current["status"] == "cancelled"
        assert invoice_status in current["status_reason"]
        assert parse_time(current["updated_time"]) >= parse_time(callout["updated_time"])
    # Finished callouts keep their outcome; other invoices' callouts are untouched.
    assert await get_callout(tenant, done["id"]) == done
    assert await get_callout(tenant, elsewhere["id"]) == elsewhere
    listed = await list_callouts(tenant, invoice_id=invoice["id"], status="scheduled")
    assert listed["data"] == []
