"""Voice agents' own endpoints: defaults, reading, updating, deleting, and the checks on a
script and a duration."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api

JSON = {"Content-Type": "application/json"}


async def test_create_voice_agent_fills_the_defaults(api: Api) -> None:
    tenant = await api.tenant()
    agent = await tenant.agent()

    assert agent["id"].startswith("agent_")
    assert (agent["name"], agent["provider"], agent["status"]) == ("Ava", "simulator", "active")
    assert (agent["voice"], agent["language"], agent["max_duration"]) == ("default", "en-US", 600)
    assert "{{invoice_number}}" in agent["script"]
    shown = await tenant.ok("GET", f"/v1/voice-agents/{agent['id']}")
    assert shown["data"] == agent


async def test_list_voice_agents_shows_only_the_accounts_own(api: Api) -> None:
    tenant, other = await api.tenant(), await api.tenant(company="Other Co")
    mine = [await tenant.agent(name=name) for name in ("Ava", "Ben")]
    await other.agent(name="Theirs")

    listed = await tenant.ok("GET", "/v1/voice-agents")

    assert [a["id"] for a in listed["data"]] == [a["id"] for a in mine]
    foreign = await other.request("GET", f"/v1/voice-agents/{mine[0]['id']}")
    assert foreign.status_code == 404, foreign.text


async def test_update_voice_agent_changes_only_what_is_sent(api: Api) -> None:
    tenant = await api.tenant()
    agent = await tenant.agent()
    path = f"/v1/voice-agents/{agent['id']}"

    updated = await tenant.ok("PUT", path, json={"name": "Ben", "max_duration": 300})

    assert (updated["data"]["name"], updated["data"]["max_duration"]) == ("Ben", 300)
    assert updated["data"]["script"] == agent["script"]
    assert (await tenant.ok("GET", path))["data"] == updated["data"]


async def test_delete_voice_agent_then_get_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    agent = await tenant.agent()
    path = f"/v1/voice-agents/{agent['id']}"

    deleted = await tenant.ok("DELETE", path)

    assert (deleted["data"]["id"], deleted["data"]["deleted"]) == (agent["id"], True)
    gone = await tenant.request("GET", path)
    assert gone.status_code == 404, gone.text
    assert gone.json()["error"]["code"] == "NOT_FOUND"


async def test_voice_agent_script_with_an_unknown_placeholder_is_refused(api: Api) -> None:
    tenant = await api.tenant()
    reply = await tenant.request(
        "POST", "/v1/voice-agents", json={"name": "Ava", "script": "Hi {{nickname}}"}
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"] == "script"


async def test_voice_agent_max_duration_written_with_a_fraction_of_zero_is_the_integer(
    api: Api,
) -> None:
    """``max_duration`` is a JSON Schema ``integer``, which ``587.0`` is; the agent endpoints
    refused it as "Input should be a valid integer" (POST and PUT). Found by the fuzz."""
    tenant = await api.tenant()
    await tenant.ok("GET", "/v1/voice-agents")  # see test_first_write_with_a_new_key_... (fuzz)
    created = await tenant.ok(
        "POST", "/v1/voice-agents", content=b'{"name": "Ava", "max_duration": 587.0}', headers=JSON
    )
    assert created["data"]["max_duration"] == 587
    path = f"/v1/voice-agents/{created['data']['id']}"
    updated = await tenant.ok("PUT", path, content=b'{"max_duration": 2422.0}', headers=JSON)
    assert updated["data"]["max_duration"] == 2422
    assert (await tenant.ok("GET", path))["data"]["max_duration"] == 2422
    assert isinstance(updated["data"]["max_duration"], int)


@pytest.mark.parametrize(
    "value", [587.5, "600", True, 29.0, 3601.0], ids=["fraction", "string", "bool", "low", "high"]
)
async def test_voice_agent_max_duration_that_is_no_integer_in_range_is_refused(
    api: Api, value: Any
) -> None:
    tenant = await api.tenant()
    await tenant.ok("GET", "/v1/voice-agents")  # see test_first_write_with_a_new_key_... (fuzz)
    agent = await tenant.agent()
    for method, path, sent in (
        ("POST", "/v1/voice-agents", {"name": "Ava", "max_duration": value}),
        ("PUT", f"/v1/voice-agents/{agent['id']}", {"max_duration": value}),
    ):
        reply = await tenant.request(method, path, json=sent)
        assert reply.status_code == 422, reply.text
        refused = reply.json()
        assert refused["success"] is False
        assert refused["error"]["code"] == "VALIDATION_ERROR"
        assert refused["error"]["field"] == "max_duration"
    unchanged = await tenant.ok("GET", f"/v1/voice-agents/{agent['id']}")
    assert unchanged["data"]["max_duration"] == 600
