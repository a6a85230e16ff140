"""What the provider tests share: a callout by a real provider's agent, and what became of it."""

from __future__ import annotations

from typing import Any

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
