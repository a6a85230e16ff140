"""The LLM settings: read from the environment, checked, the key kept out of sight."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from credira.config import Settings
from credira.llm import LLMSettings

KEY = "sk-test-0123456789abcdefSECRET"


def test_no_llm_url_means_no_llm() -> None:
    assert LLMSettings.from_settings(Settings(llm_model="x")) is None


def test_the_environment_names_the_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIRA_LLM_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("CREDIRA_LLM_MODEL", "llama3.2")
    monkeypatch.setenv("CREDIRA_LLM_API_KEY", KEY)
    settings = Settings()
    assert KEY not in repr(settings)
    llm = LLMSettings.from_settings(settings)
    assert llm == LLMSettings(url="http://127.0.0.1:11434/v1", model="llama3.2", api_key=KEY)
    agent = llm.with_overrides(model="qwen2.5")
    assert (agent.url, agent.model, agent.api_key) == (llm.url, "qwen2.5", KEY)


@pytest.mark.parametrize(
    ("url", "model", "message"),
    [
        ("http://127.0.0.1:11434/v1", None, "CREDIRA_LLM_MODEL"),
        ("127.0.0.1:11434", "m", "CREDIRA_LLM_URL"),
        ("ftp://host/v1", "m", "CREDIRA_LLM_URL"),
        ("http://user:pw@host/v1", "m", "credentials"),
    ],
)
def test_a_wrong_llm_setting_is_refused(url: str, model: str | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(llm_url=url, llm_model=model)
