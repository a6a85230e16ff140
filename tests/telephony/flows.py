"""What the provider tests share: a callout by a real provider's agent, and what became of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from credira.kit.ids import new_id
from credira.models import Call
from tests.support import Tenant, eventually, zone_in_calling_hours

CALLER_ID = "+14155550123"
PUBLIC = "http://testserver"


async def call_out(tenant: Tenant, phone: str, **agent: Any) -> tuple[dict[str, Any], str]:
    """A callout to ``phone`` by an agent (of Twilio unless ``agent`` says): the invoice and
    the callout's id."""
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone, "timezone": zone_in_calling_hours()}
    )
    made = await tenant.agent(**{"provider": "twilio", "from_number": CALLER_ID, **agent})
    body = {"invoice_id": invoice["id"], "actions": {"voice_agent_id": made["id"]}}
    callout = (await tenant.ok("POST", "/v1/callouts", json=body))["data"]
    return invoice, callout["id"]


async def settled(tenant: Tenant, callout_id: str) -> dict[str, Any]:
    """The callout once its first attempt has ended (finished, or waiting to retry)."""

    async def check() -> dict[str, Any] | None:
        data: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        if data["status"] in ("completed", "failed", "cancelled"):
            return data
        if data["status"] == "scheduled" and data.get("hold_reason"):
            return data
        return None

    result: dict[str, Any] = await eventually(check, within=20)
    return result


async def the_call(tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    """The invoice's one call as the API shows it, with its transcript and the Twilio call
    sid it recorded (which the API does not show)."""
    listed = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice_id}))["data"]
    assert len(listed) == 1, listed
    call: dict[str, Any] = (await tenant.ok("GET", f"/v1/calls/{listed[0]['id']}"))["data"]
    if call["transcription_url"]:
        text = await tenant.request("GET", call["transcription_url"].removeprefix(PUBLIC))
        call["transcript"] = text.text
    app = tenant.api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.runtime.sessionmaker() as session:
        row = await session.get(Call, call["id"])
        call["provider_call_id"] = row.provider_call_id
    return call


async def call_row(tenant: Tenant, phone: str) -> str:
    """A call attempt's row, as the worker writes it before dialling, for a callout no worker
    will run (scheduled years ahead): for tests that dial through an adapter themselves."""
    invoice = await tenant.invoice(
        customer={"name": "John Doe", "phone": phone, "timezone": zone_in_calling_hours()}
    )
    agent = await tenant.agent()
    callout = await tenant.callout(
        invoice["id"], agent["id"], scheduled_time="2099-01-01T10:00:00Z"
    )
    app = tenant.api.client._transport.app  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    call_id = new_id("call")
    async with app.state.runtime.sessionmaker() as session:
        session.add(
            Call(
                id=call_id,
                account_id=tenant.account_id,
                invoice_id=invoice["id"],
                callout_id=callout["id"],
                attempt_id=new_id("attempt"),
                attempt_number=1,
                idempotency_key=f"{callout['id']}:call:1",
                provider="test",
                to_number=phone,
                status="initiated",
                call_purpose="payment_reminder",
                scheduled_time=now,
                metadata_={},
                created_time=now,
                updated_time=now,
            )
        )
        await session.commit()
    return call_id


async def unhappy_endings(
    tenant: Tenant, endings: dict[str, str], **agent: Any
) -> dict[str, dict[str, Any]]:
    """Callouts to each number at once, each call ending in its status without a conversation:
    each callout waits for its retry (``retry_after_<status>``). The call of each number."""
    started = {phone: await call_out(tenant, phone, **agent) for phone in endings}
    calls: dict[str, dict[str, Any]] = {}
    for phone, status in endings.items():
        invoice, callout_id = started[phone]
        callout = await settled(tenant, callout_id)
        assert (callout["status"], callout.get("hold_reason")) == (
            "scheduled",
            f"retry_after_{status}",
        ), phone
        calls[phone] = await the_call(tenant, invoice["id"])
        assert (calls[phone]["status"], calls[phone]["outcome"]) == (status, None), phone
    return calls
