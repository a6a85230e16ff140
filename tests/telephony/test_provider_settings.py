"""Provider settings: stored encrypted, shown as which fields are set, never their values."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "f3c1a8e0b2d94c17a6e5d8b9c0f1a2b3"


async def admin_tenant(api: Api) -> Tenant:
    perms = ["users:read", "users:write", "voice_agents:read", "voice_agents:write"]
    return await api.tenant(permissions=perms)


async def test_twilio_settings_are_shown_as_set_never_as_values(
    shared_api: Api, shared_app: FastAPI
) -> None:
    tenant = await admin_tenant(shared_api)
    put = await tenant.ok(
        "PUT", "/v1/account/providers/twilio", json={"account_sid": SID, "auth_token": TOKEN}
    )
    shown = put["data"]
    assert shown["provider"] == "twilio"
    assert shown["configured"] is True
    assert set(shown["fields"]) == {"account_sid", "auth_token"}
    assert all(field["set"] and field["updated_time"] for field in shown["fields"].values())
    assert shown["api_base"] == "https://api.twilio.com"
    assert shown["callback_url"] == "http://testserver/hooks/twilio"

    listed = await tenant.ok("GET", "/v1/account/providers")
    assert [p["provider"] for p in listed["data"]] == ["twilio", "telnyx", "vapi", "retell"]
    assert listed["meta"]["total_providers"] == 4
    assert listed["data"][1]["configured"] is False
    assert listed["data"][1]["fields"]["api_key"] == {"set": False}
    for reply in (put, listed):
        assert SID not in str(reply)
        assert TOKEN not in str(reply)

    # Nothing readable at rest: the raw row holds neither value.
    sessionmaker = shared_app.state.runtime.sessionmaker
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT * FROM provider_settings WHERE account_id = :a"),
                {"a": tenant.account_id},
            )
        ).all()
    assert len(rows) == 1
    assert SID not in str(rows)
    assert TOKEN not in str(rows)


async def test_a_later_put_changes_only_what_it_sends(shared_api: Api) -> None:
    tenant = await admin_tenant(shared_api)
    path = "/v1/account/providers/twilio"
    first = (await tenant.ok("PUT", path, json={"account_sid": SID, "auth_token": TOKEN}))["data"]
    later = (
        await tenant.ok(
            "PUT", path, json={"auth_token": "b" * 32, "api_base": "http://127.0.0.1:9"}
        )
    )["data"]
    assert later["fields"]["account_sid"] == first["fields"]["account_sid"]
    assert later["api_base"] == "http://127.0.0.1:9"
    reset = (await tenant.ok("PUT", path, json={"api_base": None}))["data"]
    assert reset["api_base"] == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("provider", "body", "field"),
    [
        ("twilio", {"account_sid": SID}, "auth_token"),
        ("twilio", {"account_sid": "AC123", "auth_token": TOKEN}, "account_sid"),
        ("twilio", {"account_sid": SID, "auth_token": TOKEN, "api_key": "k"}, "api_key"),
        (
            "twilio",
            {"account_sid": SID, "auth_token": TOKEN, "api_base": "http://evil.example"},
            "api_base",
        ),
        (
            "telnyx",
            {"api_key": "KEY1", "connection_id": "1", "public_key": "c2hvcnQ="},
            "public_key",
        ),
    ],
)
async def test_incomplete_or_wrong_settings_are_refused(
    shared_api: Api, provider: str, body: dict[str, Any], field: str
) -> None:
    tenant = await admin_tenant(shared_api)
    response = await tenant.request("PUT", f"/v1/account/providers/{provider}", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert TOKEN not in response.text


async def test_provider_settings_need_the_users_permissions(shared_api: Api) -> None:
    tenant = await shared_api.tenant()  # the default permissions: no users:*
    put = await tenant.request(
        "PUT", "/v1/account/providers/twilio", json={"account_sid": SID, "auth_token": TOKEN}
    )
    assert put.status_code == 403
    assert (await tenant.request("GET", "/v1/account/providers")).status_code == 403


async def test_a_twilio_agent_needs_a_caller_id_and_script_mode(shared_api: Api) -> None:
    tenant = await admin_tenant(shared_api)
    no_number = await tenant.request(
        "POST", "/v1/voice-agents", json={"name": "Ava", "provider": "twilio"}
    )
    assert no_number.status_code == 422
    assert no_number.json()["error"]["field"] == "from_number"
    conversation = await tenant.request(
        "POST",
        "/v1/voice-agents",
        json={
            "name": "Ava",
            "provider": "twilio",
            "from_number": "+14155550123",
            "mode": "conversation",
        },
    )
    # Credira's own agent holds the conversation (``credira.conversation``).
    assert conversation.status_code == 201, conversation.text
    assert conversation.json()["data"]["mode"] == "conversation"
    unknown = await tenant.request(
        "POST",
        "/v1/voice-agents",
        json={"name": "Ava", "provider": "bland", "from_number": "+14155550123"},
    )
    assert unknown.status_code == 422
    assert "must be one of: simulator, twilio, telnyx, vapi, retell" in unknown.text
    agent = await tenant.created(
        "/v1/voice-agents", {"name": "Ava", "provider": "twilio", "from_number": "+14155550123"}
    )
    assert (agent["provider"], agent["mode"], agent["from_number"]) == (
        "twilio",
        "script",
        "+14155550123",
    )
