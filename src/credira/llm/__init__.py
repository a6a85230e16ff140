"""Asking an OpenAI-compatible LLM: settings, the client and its errors.

``LLMSettings.from_settings(settings)`` is None when no LLM is configured; otherwise
``LLMClient(llm)`` streams chat completions (`TextDelta`, `ToolCall`, `Finished`) and asks for
structured answers; every failure is an `LLMError`.
"""

from credira.llm.client import LLMClient, Message
from credira.llm.errors import (
    LLMBadAnswer,
    LLMDeclined,
    LLMError,
    LLMRateLimited,
    LLMRequestRejected,
    LLMServerError,
    LLMTimeout,
    LLMTruncated,
    LLMUnavailable,
)
from credira.llm.settings import LLMSettings
from credira.llm.wire import Finished, StreamPart, TextDelta, ToolCall, Usage

__all__ = [
    "Finished",
    "LLMBadAnswer",
    "LLMClient",
    "LLMDeclined",
    "LLMError",
    "LLMRateLimited",
    "LLMRequestRejected",
    "LLMServerError",
    "LLMSettings",
    "LLMTimeout",
    "LLMTruncated",
    "LLMUnavailable",
    "Message",
    "StreamPart",
    "TextDelta",
    "ToolCall",
    "Usage",
]
