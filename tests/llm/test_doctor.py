"""``credira doctor`` on the LLM: none set is fine; a server that answers and lists the model
passes; a refused key, a model not served and an unreachable server are named problems."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr

from credira.config import Settings
from credira.doctor.finding import Finding
from credira.doctor.llm import llm_check
from tests.llm.fake_openai import FakeOpenAI
from tests.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "sk-doctor-0123456789"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as server:
        server.models = ["llama3.2:latest", "qwen2.5:7b"]
        yield server


def llm(url: str, model: str = "llama3.2", key: str | None = KEY) -> Settings:
    return Settings(llm_url=url, llm_model=model, llm_api_key=SecretStr(key) if key else None)


async def test_no_llm_is_fine() -> None:
    [found] = await llm_check(Settings(), within=1)
    assert found.level == "ok"
    assert "no CREDIRA_LLM_URL" in found.text


async def test_a_server_serving_the_model_passes(fake: FakeOpenAI) -> None:
    # Ollama lists a model pulled without a tag as name:latest.
    assert await llm_check(llm(fake.url), within=2) == [
        Finding("ok", "llm", f"the LLM server at {fake.url} answers and serves llama3.2")
    ]
    [found] = await llm_check(llm(fake.url, "qwen2.5:7b"), within=2)
    assert found.level == "ok"


async def test_a_model_the_server_does_not_serve_is_named(fake: FakeOpenAI) -> None:
    [found] = await llm_check(llm(fake.url, "mistral"), within=2)
    assert found.level == "fail"
    assert "does not serve mistral (it lists: llama3.2:latest, qwen2.5:7b)" in found.text
    assert "ollama pull mistral" in found.text


async def test_a_refused_key_is_named_and_not_shown(fake: FakeOpenAI) -> None:
    [found] = await llm_check(llm(fake.url, key="sk-wrong-9876543210"), within=2)
    assert found == Finding(
        "fail", "llm", f"the LLM server at {fake.url} refuses the key (CREDIRA_LLM_API_KEY)"
    )


async def test_an_unreachable_server_is_named() -> None:
    [found] = await llm_check(llm(f"http://127.0.0.1:{free_port()}/v1"), within=2)
    assert found.level == "fail"
    assert "unreachable" in found.text
