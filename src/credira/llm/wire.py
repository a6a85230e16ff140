"""The OpenAI chat-completions wire format as the client reads it: the parts of a streamed
answer (`TextDelta`, `ToolCall`, `Finished`), a tool call gathered from its streamed fragments,
error bodies and Retry-After. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from credira.llm.errors import LLMBadAnswer, LLMTruncated

QUOTED_CHARS = 300  # of a server's error answer, in an error message


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Finished:
    """The end of an answer: ``reason`` as the server gave it (``stop``, ``tool_calls``,
    ``length``...), and the tokens counted when the server said."""

    reason: str
    usage: Usage | None = None


StreamPart = TextDelta | ToolCall | Finished


@dataclass
class PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


# -- reading answers ------------------------------------------------------------------------


def parse_json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise LLMBadAnswer(f"LLM {what} is not JSON") from None


def first_choice(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise LLMBadAnswer("LLM answer is not a JSON object")
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMBadAnswer("LLM answer without choices")
    choice: dict[str, Any] = choices[0]
    return choice


def error_message(body: Any) -> str:
    """The message of an OpenAI-style error body (``{"error": {"message": ...}}``)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(body)[:QUOTED_CHARS]


def error_text(raw: bytes) -> str:
    try:
        return error_message(json.loads(raw))
    except ValueError:
        return raw.decode("utf-8", "replace")


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date); None when
    absent or unreadable (``nan``, ``inf`` included)."""
    seconds: float | None = None
    millis = response.headers.get("retry-after-ms")
    value = response.headers.get("retry-after")
    if millis:
        seconds = _number(millis, 1000)
    if seconds is None and value:
        seconds = _number(value, 1)
        if seconds is None:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, OverflowError):
                return None
            seconds = when.timestamp() - time.time()
    return None if seconds is None else max(seconds, 0.0)


def _number(text: str, per_second: float) -> float | None:
    try:
        number = float(text) / per_second
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def usage_of(value: Any) -> Usage | None:
    if not isinstance(value, dict):
        return None
    prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return Usage(prompt, completion)
    return None


def gather_fragment(pending: dict[int, PendingCall], fragment: Any) -> None:
    """One streamed piece of a tool call: its index names the call, the first piece carries
    its id and name, each piece a part of its arguments (one piece: all of it, as Ollama)."""
    if not isinstance(fragment, dict):
        raise LLMBadAnswer("LLM tool call fragment is not a JSON object")
    index = fragment.get("index", len(pending))
    if not isinstance(index, int):
        raise LLMBadAnswer("LLM tool call fragment without an index")
    call = pending.setdefault(index, PendingCall())
    if isinstance(fragment.get("id"), str) and fragment["id"]:
        call.id = fragment["id"]
    function = fragment.get("function") or {}
    if not isinstance(function, dict):
        raise LLMBadAnswer("LLM tool call function is not a JSON object")
    if isinstance(function.get("name"), str) and function["name"]:
        call.name = function["name"]
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        call.arguments.append(arguments)
    elif isinstance(arguments, dict):  # some servers send them parsed
        call.arguments.append(json.dumps(arguments))


def tool_call(call: PendingCall, index: int, *, truncated: bool) -> ToolCall:
    if not call.name:
        raise LLMBadAnswer("LLM tool call without a name")
    text = "".join(call.arguments).strip() or "{}"
    try:
        arguments = json.loads(text)
    except ValueError:
        error = LLMTruncated if truncated else LLMBadAnswer
        raise error(f"LLM tool call {call.name!r}: arguments are not JSON") from None
    if not isinstance(arguments, dict):
        raise LLMBadAnswer(f"LLM tool call {call.name!r}: arguments are not a JSON object")
    return ToolCall(call.id or f"call_{index}", call.name, arguments)
