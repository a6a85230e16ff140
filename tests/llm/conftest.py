"""The LLM tests' app: the root conftest's one app and database per test module and backend
(``shared_app``), with its embedded worker and a local OpenAI-compatible server as
CREDIRA_LLM_URL, the transcripts classified in the worker's own process and the providers'
fakes answered quickly. Every case works in an account of its own and sets the server's
``responder`` (cleared before each); modules using the app declare
``pytestmark = pytest.mark.asyncio(loop_scope="module")``, and ``api`` and ``client`` stand for
the shared ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from tests.llm.fake_openai import FakeOpenAI
from tests.support import Api

KEY = "sk-worker-analysis-0123456789"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def llm_server(shared_llm: FakeOpenAI) -> FakeOpenAI:
    shared_llm.requests.clear()
    shared_llm.responder = None
    return shared_llm


@pytest.fixture(scope="module")
def shared_overrides(shared_llm: FakeOpenAI) -> dict[str, Any]:
    return {
        "embedded_worker": True,
        "worker_poll_seconds": 0.05,
        "worker_grace_seconds": 1.0,
        "simulator_time_scale": 0.2,
        "worker_analysis_processes": 0,
        "provider_timeout_seconds": 0.5,
        "provider_poll_seconds": 0.5,
        "llm_url": shared_llm.url,
        "llm_model": "llama3.2",
        "llm_api_key": SecretStr(KEY),
    }


@pytest.fixture
def client(shared_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_client


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api
