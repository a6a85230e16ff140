"""Bugs the fuzz tests ran into, each pinned by the smallest exchange that shows it, so that
it stays fixed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from credira.models import ApiKey
from tests.support import Api

JSON = {"Content-Type": "application/json"}


async def test_first_write_with_a_new_key_is_prompt_and_stamps_the_key(
    api: Api, app: FastAPI, backend: str, request: pytest.FixtureRequest
) -> None:
    """The key's stamp was written in a second transaction that waited on the request's own
    write lock (SQLite busy_timeout, 15 s), then was skipped, so every write waited again."""
    tenant = await api.tenant()
    started = time.monotonic()
    await tenant.agent()
    elapsed = time.monotonic() - started
    async with app.state.runtime.sessionmaker() as session:
        stamped = await session.scalar(
            select(ApiKey.last_used).where(ApiKey.user_id == tenant.user_id)
        )
    assert stamped is not None, "the key's first use was not recorded"
    assert elapsed < 5, f"a one-row write took {elapsed:.1f} s"


async def test_invalid_update_with_stale_if_match_is_refused_as_invalid(api: Api) -> None:
    """If-Match was judged before the change itself: a stale one answered 412 where the request
    without it answers 400 (RFC 9110 13.2.1: preconditions come after the request's checks)."""
    tenant = await api.tenant()
    await tenant.ok("GET", "/v1/voice-agents")  # see test_first_write_with_a_new_key_...
    _invoice, _agent, callout = await tenant.scenario()
    path = f"/v1/callouts/{callout['id']}"
    body = {"actions": {"voice_agent_id": "not-an-id"}}

    plain = await tenant.request("PUT", path, json=body)
    stale = await tenant.request("PUT", path, json=body, headers={"If-Match": '"999"'})

    assert plain.status_code == 400, plain.text
    assert plain.json()["error"]["message"] == "Invalid voice agent ID format"
    assert (stale.status_code, stale.json()["error"]) == (400, plain.json()["error"])


async def test_voice_agent_max_duration_written_with_a_fraction_of_zero_is_the_integer(
    api: Api,
) -> None:
    """``max_duration`` is a JSON Schema ``integer``, which ``587.0`` is; the agent endpoints
    refused it as "Input should be a valid integer" (POST and PUT)."""
    tenant = await api.tenant()
    await tenant.ok("GET", "/v1/voice-agents")  # see test_first_write_with_a_new_key_...
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
    await tenant.ok("GET", "/v1/voice-agents")  # see test_first_write_with_a_new_key_...
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
