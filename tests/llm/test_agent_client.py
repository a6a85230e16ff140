"""The voice agent's model client: one per process (every call's turns share its kept-alive
connections), built from CREDIRA_LLM_URL on first use and closed when the app stops."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from credira.api.deps import Runtime
from credira.app import create_app
from credira.config import Settings
from credira.llm import Finished
from tests.llm.fake_openai import FakeOpenAI, text

HELLO = [{"role": "user", "content": "Hello"}]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def test_every_call_shares_one_client_closed_at_shutdown(
    settings: Settings, fake: FakeOpenAI
) -> None:
    app = create_app(settings.model_copy(update={"llm_url": fake.url, "llm_model": "m"}))
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        client = runtime.agent_llm
        assert client is not None
        assert runtime.agent_llm is client
        # Two calls' turns, one after the other, on one connection.
        fake.script(text("First call."), text("Second call."))
        for _ in range(2):
            parts = [part async for part in runtime.agent_llm.chat(HELLO)]
            assert isinstance(parts[-1], Finished)
        assert len({r.peer for r in fake.requests}) == 1
    assert client._http.is_closed


async def test_without_a_model_there_is_no_client(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        assert runtime.agent_llm is None
