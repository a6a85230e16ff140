"""The LLM tests' app: the embedded worker with a local OpenAI-compatible server as
CREDIRA_LLM_URL, the transcripts classified in the worker's
own process, and the providers' fakes answered quickly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from credira.config import Settings
from tests.llm.fake_openai import FakeOpenAI
from tests.support import worker_app_settings

KEY = "sk-worker-analysis-0123456789"


@pytest_asyncio.fixture
async def llm_server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, llm_server: FakeOpenAI) -> Settings:
    update: dict[str, Any] = {
        "worker_analysis_processes": 0,
        "provider_timeout_seconds": 0.5,
        "provider_poll_seconds": 0.5,
        "llm_url": llm_server.url,
        "llm_model": "llama3.2",
        "llm_api_key": SecretStr(KEY),
    }
    return worker_app_settings(database_url, tmp_path / "data").model_copy(update=update)
