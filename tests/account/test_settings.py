"""The account's outreach settings, read and changed through the API."""

from __future__ import annotations

import pytest

from tests.support import ADMIN_KEY, Api, bearer


async def test_a_new_account_shows_every_default(api: Api) -> None:
    tenant = await api.tenant()
    data = (await tenant.ok("GET", "/v1/account"))["data"]
    assert data["id"] == tenant.account_id
    assert data["settings"] == {
        "max_call_attempts": 3,
        "retry_minutes": [30, 120, 240],
        "observe_holidays": False,
        "weekly_contacts": 10,
        "locale": "en_US",
        "daily_call_cap": 1000,
        "daily_email_cap": 5000,
        "third_party_collector": False,
        "callback_number": None,
        "settlement": {
            "max_promise_days": 30,
            "min_promise_percent": 100,
            "allow_plans": True,
            "max_instalments": 6,
            "min_instalment": "20",
            "max_plan_days": 31,
        },
    }


async def test_settings_change_and_merge(api: Api) -> None:
    tenant = await api.tenant(permissions=["users:write", "users:read", "callouts:read"])
    body = {"observe_holidays": True, "max_call_attempts": 5, "retry_minutes": [10]}
    reply = await tenant.ok("PUT", "/v1/account/settings", json=body)
    assert reply["meta"]["message"] == "Account settings updated successfully"
    later = await tenant.ok("PUT", "/v1/account/settings", json={"locale": "de_DE"})
    settings = later["data"]["settings"]
    assert settings["observe_holidays"] is True
    assert settings["max_call_attempts"] == 5
    assert settings["retry_minutes"] == [10]
    assert settings["locale"] == "de_DE"
    assert settings["daily_call_cap"] == 1000


async def test_a_whole_number_written_with_a_fraction_is_an_integer(api: Api) -> None:
    # JSON has one number type, and JSON Schema's "integer" admits 3.0.
    tenant = await api.tenant(permissions=["users:write", "users:read"])
    body = {"max_call_attempts": 3.0, "retry_minutes": [10.0, 60]}
    settings = (await tenant.ok("PUT", "/v1/account/settings", json=body))["data"]["settings"]
    assert settings["max_call_attempts"] == 3
    assert settings["retry_minutes"] == [10, 60]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_call_attempts": 0}, "max_call_attempts"),
        ({"max_call_attempts": "3"}, "max_call_attempts"),
        ({"max_call_attempts": 3.5}, "max_call_attempts"),
        ({"max_call_attempts": True}, "max_call_attempts"),
        ({"retry_minutes": []}, "retry_minutes"),
        ({"observe_holidays": "yes"}, "observe_holidays"),
        ({"locale": "xx_YY_ZZ"}, "locale"),
        ({"daily_call_cap": -1}, "daily_call_cap"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_changes(
    api: Api, body: dict[str, object], field: str
) -> None:
    tenant = await api.tenant(permissions=["users:write"])
    before = (await tenant.ok("GET", "/v1/account"))["data"]
    reply = await tenant.request("PUT", "/v1/account/settings", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in reply.json()["error"]["message"]
    assert (await tenant.ok("GET", "/v1/account"))["data"] == before


async def test_the_legal_rules_are_not_settings(api: Api) -> None:
    tenant = await api.tenant(permissions=["users:write"])
    reply = await tenant.request("PUT", "/v1/account/settings", json={"calling_window": "0-24"})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "Unknown field: calling_window"


async def test_changing_settings_needs_users_write(api: Api) -> None:
    tenant = await api.tenant()  # default permissions: no users:*
    reply = await tenant.request("PUT", "/v1/account/settings", json={"observe_holidays": True})
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "FORBIDDEN"
    admin = await api.client.get("/v1/account", headers=bearer(ADMIN_KEY))
    assert admin.status_code == 403


async def test_the_voice_agents_settlement_policy_and_collector_flag_are_settings(
    api: Api,
) -> None:
    tenant = await api.tenant(permissions=["users:write", "users:read"])
    body = {
        "third_party_collector": True,
        "callback_number": "+14155550100",
        "settlement": {"max_instalments": 3, "min_instalment": "50.00"},
    }
    changed = (await tenant.ok("PUT", "/v1/account/settings", json=body))["data"]["settings"]
    assert changed["third_party_collector"] is True
    assert changed["callback_number"] == "+14155550100"
    assert changed["settlement"]["max_instalments"] == 3
    assert changed["settlement"]["min_instalment"] == "50.00"
    assert changed["settlement"]["max_promise_days"] == 30
    for bad in (
        {"settlement": {"max_instalments": 0}},
        {"settlement": {"min_instalment": "-1"}},
        {"settlement": {"surprise": 1}},
        {"callback_number": "5550100"},
    ):
        refused = await tenant.request("PUT", "/v1/account/settings", json=bad)
        assert refused.status_code in (400, 422), bad
