"""Bugs the fuzz tests ran into, each pinned by the smallest exchange that shows it, so that
it stays fixed. Those of one resource's own endpoints sit with its tests (``tests/agent``).
"""

from __future__ import annotations

import time

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
