"""One test per row of the simulator's table: what the call, the callout and the invoice show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import Api, Tenant, eventually, zone_in_calling_hours


def phone(digits: str) -> str:
    return f"+141555501{digits}"


async def setup(api: Api, digits: str) -> tuple[Tenant, dict[str, Any], dict[str, Any], str]:
    tenant = await api.tenant()
    zone = zone_in_calling_hours()
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone(digits), "timezone": zone}
    )
    agent = await tenant.agent()
    return tenant, invoice, agent, zone


async def start(tenant: Tenant, invoice: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}}
    return (await tenant.ok("POST", "/v1/callouts", json=body))["data"]


async def settled(tenant: Tenant, callout_id: str) -> dict[str, Any]:
    """The callout once its first attempt has ended (finished, or waiting to retry)."""

    async def check() -> dict[str, Any] | None:
        data = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        if data["status"] in ("completed", "failed", "cancelled"):
            return data
        if data["status"] == "scheduled" and "next_attempt_time" in data:
            return data
        return None

    result: dict[str, Any] = await eventually(check, within=15)
    return result


async def calls_of(tenant: Tenant, invoice_id: str) -> list[dict[str, Any]]:
    listed = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice_id}))["data"]
    return [(await tenant.ok("GET", f"/v1/calls/{c['id']}"))["data"] for c in listed]


async def test_other_number_is_answered_and_acknowledged(api: Api) -> None:
    tenant, invoice, agent, _ = await setup(api, "00")
    callout = await settled(tenant, (await start(tenant, invoice, agent))["id"])
    assert callout["status"] == "completed"
    [call] = await calls_of(tenant, invoice["id"])
    assert call["status"] == "completed"
    assert call["outcome"] == "acknowledged"
    assert call["duration"] > 0
    assert 0 < call["confidence_score"] <= 1
    assert call["transcription_url"].endswith(f"/transcriptions/{call['id']}.txt")
    invoice_now = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert invoice_now["status"] == "open"


async def retried_after(api: Api, digits: str, status: str) -> dict[str, Any]:
    tenant, invoice, agent, _ = await setup(api, digits)
    started = datetime.now(UTC)
    callout = await settled(tenant, (await start(tenant, invoice, agent))["id"])
    assert callout["status"] == "scheduled"
    assert callout["hold_reason"] == f"retry_after_{status}"
    retry_at = datetime.fromisoformat(callout["next_attempt_time"])
    assert started + timedelta(minutes=29) <= retry_at <= started + timedelta(minutes=31)
    [call] = await calls_of(tenant, invoice["id"])
    assert call["status"] == status
    return call


async def test_01_no_answer_is_retried_later(api: Api) -> None:
    call = await retried_after(api, "01", "no_answer")
    assert call["outcome"] is None
    assert call["transcription_url"] is None


async def test_02_busy_is_retried_later(api: Api) -> None:
    await retried_after(api, "02", "busy")


async def test_03_voicemail_leaves_a_message_and_is_retried(api: Api) -> None:
    call = await retried_after(api, "03", "voicemail")
    assert "voicemail" in call["summary"].lower()
    assert call["transcription_url"] is not None


async def test_04_provider_failure_is_retried_later(api: Api) -> None:
    await retried_after(api, "04", "failed")


async def test_05_promise_holds_other_callouts_until_the_promised_date(api: Api) -> None:
    tenant, invoice, agent, zone = await setup(api, "05")
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    other = await tenant.callout(invoice["id"], agent["id"], scheduled_time=later)
    callout = await settled(tenant, (await start(tenant, invoice, agent))["id"])
    assert callout["status"] == "completed"
    [call] = await calls_of(tenant, invoice["id"])
    assert call["outcome"] == "promise_to_pay"
    promised = (datetime.now(ZoneInfo(zone)) + timedelta(days=7)).date()
    invoice_now = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert invoice_now["promised_date"] == promised.isoformat()
    held = (await tenant.ok("GET", f"/v1/callouts/{other['id']}"))["data"]
    assert held["status"] == "scheduled"
    assert held["hold_reason"] == "promise_to_pay"
    hold_until = datetime.fromisoformat(held["next_attempt_time"]).astimezone(ZoneInfo(zone))
    assert hold_until.date() == promised


async def test_06_dispute_marks_the_invoice_disputed_and_cancels_the_rest(api: Api) -> None:
    tenant, invoice, agent, _ = await setup(api, "06")
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    other = await tenant.callout(invoice["id"], agent["id"], scheduled_time=later)
    callout = await settled(tenant, (await start(tenant, invoice, agent))["id"])
    assert callout["status"] == "completed"
    [call] = await calls_of(tenant, invoice["id"])
    assert call["outcome"] == "dispute"
    invoice_now = (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"]
    assert invoice_now["status"] == "disputed"
    cancelled = (await tenant.ok("GET", f"/v1/callouts/{other['id']}"))["data"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["status_reason"] == "invoice disputed"


async def test_07_callback_request_schedules_a_call_tomorrow_at_ten_local(api: Api) -> None:
    tenant, invoice, agent, zone = await setup(api, "07")
    first = await start(tenant, invoice, agent)
    callout = await settled(tenant, first["id"])
    assert callout["status"] == "completed"
    [call] = await calls_of(tenant, invoice["id"])
    assert call["outcome"] == "callback_requested"
    listed = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
    [callback] = [c for c in listed["data"] if c["id"] != first["id"]]
    assert callback["status"] == "scheduled"
    assert callback["type"] == "follow_up"
    local = datetime.fromisoformat(callback["scheduled_time"]).astimezone(ZoneInfo(zone))
    tomorrow = (datetime.now(ZoneInfo(zone)) + timedelta(days=1)).date()
    assert (local.date(), local.hour, local.minute) == (tomorrow, 10, 0)


async def test_08_opt_out_suppresses_later_calls_to_that_number(api: Api) -> None:
    tenant, invoice, agent, _ = await setup(api, "08")
    callout = await settled(tenant, (await start(tenant, invoice, agent))["id"])
    assert callout["status"] == "completed"
    [call] = await calls_of(tenant, invoice["id"])
    assert call["outcome"] == "opt_out"
    second_invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone("08"), "timezone": zone_in_calling_hours()}
    )
    again = await settled(tenant, (await start(tenant, second_invoice, agent))["id"])
    assert again["status"] == "failed"
    assert again["status_reason"] == "opted_out"
    assert await calls_of(tenant, second_invoice["id"]) == []


async def test_09_long_call_keeps_the_callout_active_and_locked(api: Api) -> None:
    tenant, invoice, agent, _ = await setup(api, "09")
    callout = await start(tenant, invoice, agent)

    async def in_progress() -> bool:
        calls = await calls_of(tenant, invoice["id"])
        return bool(calls) and calls[0]["status"] == "in_progress"

    await eventually(in_progress, within=10)
    response = await tenant.request(
        "PUT", f"/v1/callouts/{callout['id']}", json={"priority": "low"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "message": "Cannot update callout that is currently active",
    }
    # Cancelling hangs the call up; nothing more is dialled.
    await tenant.ok("POST", f"/v1/callouts/{callout['id']}/cancel")

    async def hung_up() -> bool:
        calls = await calls_of(tenant, invoice["id"])
        return calls[0]["status"] == "cancelled"

    await eventually(hung_up, within=10)
    final = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
    assert final["status"] == "cancelled"
