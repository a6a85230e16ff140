"""Which LLM Credira asks, and how long it waits: `LLMSettings`, built from the environment
(``CREDIRA_LLM_URL``, ``CREDIRA_LLM_MODEL``, ``CREDIRA_LLM_API_KEY``) or, per voice agent,
from the same fields overridden. No URL: no LLM (the deterministic dialogue policy and the
rules-based analysis are the embedded default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from credira.config import Settings


def check_base_url(value: str) -> str:
    """An OpenAI-compatible base URL (``http://127.0.0.1:11434/v1``), without its trailing
    slash; ``/chat/completions`` is appended to it. ValueError says what is wrong."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http(s) URL with a host, e.g. http://127.0.0.1:11434/v1")
    if parts.query or parts.fragment:
        raise ValueError("a base URL without query or fragment")
    if parts.username or parts.password:
        raise ValueError("a base URL without credentials in it (the key goes in the API key)")
    return url


@dataclass(frozen=True)
class LLMSettings:
    """An OpenAI-compatible server, the model to ask, the key (kept out of ``repr``), and the
    client's limits in seconds."""

    url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    # Until the first chunk of a stream (or the whole answer of a request that does not
    # stream), and between two chunks of a stream.
    first_token_timeout: float = 20.0
    total_timeout: float = 60.0
    max_retries: int = 2
    # A 429's Retry-After is waited out when it is at most this long (and fits the total).
    retry_after_cap: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", check_base_url(self.url))
        if not self.model.strip():
            raise ValueError("the model name is empty")

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMSettings | None:
        """The LLM the environment names, or None when ``CREDIRA_LLM_URL`` is unset."""
        if not settings.llm_url:
            return None
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(url=settings.llm_url, model=settings.llm_model or "", api_key=key or None)

    def with_overrides(
        self, *, url: str | None = None, model: str | None = None, api_key: str | None = None
    ) -> LLMSettings:
        """These settings with what a voice agent names instead (None: keep)."""
        return dataclasses.replace(
            self,
            url=self.url if url is None else url,
            model=self.model if model is None else model,
            api_key=self.api_key if api_key is None else api_key,
        )
