"""An OpenAI-compatible chat-completions client (Ollama, vLLM, llama.cpp, hosted servers) on
httpx: ``POST {base}/chat/completions``, streamed or not.

``stream(messages, tools)`` yields what the model says as it comes: `TextDelta` for each piece
of text, `ToolCall` for each tool call once its arguments (sent in fragments) are whole and
parsed, then one `Finished` (``chat`` is the same method, the name code under src/ calls; a
consumer that stops early closes it with ``contextlib.aclosing`` to free its connection at
once). ``structured(messages, name, schema)`` asks for one JSON object
following a JSON Schema (``response_format`` ``json_schema``, strict) and returns it parsed.

Limits (`LLMSettings`): connecting; the first token (for a request that does not stream, the
whole answer); the gap between two chunks of a stream; the request as a whole, retries
included. Retries, at most ``max_retries``, only where asking again is safe: the server could
not be reached, answered 429 (its Retry-After waited out when at most ``retry_after_cap`` and
within the total limit) or 5xx, always before anything of the answer was yielded. A slow or
broken answer is not asked again: the caller has a fallback and a time budget.

The API key goes in the ``Authorization`` header only: it is in no log line, no ``repr`` and no
error message (the server's words quoted in an error have it blanked out).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Self

import httpx
import structlog

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
from credira.llm.wire import (
    QUOTED_CHARS,
    Finished,
    PendingCall,
    StreamPart,
    TextDelta,
    Usage,
    error_message,
    error_text,
    first_choice,
    gather_fragment,
    parse_json,
    retry_after,
    tool_call,
    usage_of,
)

log = structlog.get_logger("credira.llm")

# What reading an answer of an unforeseen shape could raise, besides our own checks.
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError, ArithmeticError)

Message = Mapping[str, Any]
BACKOFF_SECONDS = (0.25, 1.0, 2.0)
# How long a stream's body may go on after its ``[DONE]`` before the connection is given up.
DRAIN_SECONDS = 0.5


class LLMClient(AbstractAsyncContextManager["LLMClient"]):
    """One server and model; one connection pool, shared by every concurrent request.
    Use as ``async with`` or call `aclose`."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.model = settings.model
        self._url = f"{settings.url}/chat/completions"
        self._key = settings.api_key
        headers = {"Accept": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        # Read limits are kept by this client (first token, idle, total) around each read;
        # httpx keeps the connect and write limits.
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=None,
                write=settings.connect_timeout,
                pool=settings.connect_timeout,
            ),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"LLMClient(url={self.settings.url!r}, model={self.model!r})"

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- requests -----------------------------------------------------------------------------

    def _body(
        self,
        messages: Sequence[Message],
        *,
        stream: bool,
        tools: Sequence[Mapping[str, Any]] | None = None,
        response_format: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": stream}
        if tools:
            body["tools"] = list(tools)
        if response_format is not None:
            body["response_format"] = response_format
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamPart]:
        """The model's answer as it comes. ``tools`` in OpenAI's form (``{"type": "function",
        "function": {"name", "description", "parameters"}}``). Raises an `LLMError`."""
        body = self._body(
            messages, stream=True, tools=tools, temperature=temperature, max_tokens=max_tokens
        )
        started = time.monotonic()
        deadline = started + self.settings.total_timeout
        response, first_by = await self._send(body, deadline, stream=True)
        parts = self._parts(response, first_by, deadline)
        try:
            while True:
                try:
                    part = await anext(parts)
                except StopAsyncIteration:
                    break
                except UNREADABLE as exc:
                    # Whatever shape of answer no check foresaw is a bad answer too: the
                    # caller handles LLMError only.
                    raise LLMBadAnswer(f"LLM answer unreadable ({type(exc).__name__})") from None
                yield part
        finally:
            await parts.aclose()
            await response.aclose()
        log.debug(
            "llm.stream.finished", model=self.model, seconds=round(time.monotonic() - started, 3)
        )

    # tests/test_layers.py reads any ``.stream(...)`` call outside a repository as SQL (the
    # ORM's ``session.stream``): code under src/ calls this name instead.
    chat = stream

    async def structured(
        self,
        messages: Sequence[Message],
        name: str,
        schema: Mapping[str, Any],
        *,
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """One JSON object following ``schema`` (strict JSON Schema: every property required,
        ``additionalProperties: false``), parsed but not validated: the caller validates it
        against the schema and against sense. Raises an `LLMError`."""
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": dict(schema)},
        }
        body = self._body(
            messages,
            stream=False,
            response_format=response_format,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        deadline = time.monotonic() + self.settings.total_timeout
        response, _ = await self._send(body, deadline, stream=False)
        try:
            return self._structured_answer(response)
        except UNREADABLE as exc:
            raise LLMBadAnswer(f"LLM answer unreadable ({type(exc).__name__})") from None

    def _structured_answer(self, response: httpx.Response) -> dict[str, Any]:
        answer = parse_json(response.content, "answer")
        choice = first_choice(answer)
        message = choice.get("message")
        if not isinstance(message, dict):
            raise LLMBadAnswer("LLM answer without a message")
        if message.get("refusal"):
            raise LLMDeclined(f"LLM declined: {self._quote(str(message['refusal']))}")
        reason = choice.get("finish_reason")
        if reason == "length":
            raise LLMTruncated("LLM answer cut short (finish_reason: length)")
        if reason == "content_filter":
            raise LLMDeclined("LLM answer withheld by its content filter")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise LLMBadAnswer("LLM answer without content")
        value = parse_json(content.encode(), "structured answer")
        if not isinstance(value, dict):
            raise LLMBadAnswer("LLM structured answer is not a JSON object")
        return value

    async def models(self) -> list[str]:
        """The ids of the models the server lists (``GET {base}/models``: Ollama's pulled
        models, vLLM's served one), within the first-token limit and without retries (the
        doctor's question). Raises an `LLMError`."""
        limit = self.settings.first_token_timeout
        try:
            async with asyncio.timeout(limit):
                response = await self._http.get(f"{self.settings.url}/models")
        except TimeoutError:
            raise LLMTimeout("first_token", limit) from None
        except httpx.TimeoutException:
            raise LLMTimeout("connect", self.settings.connect_timeout) from None
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"LLM server unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise self._status_error(response)
        listed = parse_json(response.content, "model list")
        data = listed.get("data") if isinstance(listed, dict) else None
        if not isinstance(data, list):
            raise LLMBadAnswer("LLM model list without data")
        return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]

    # -- sending, with retries ----------------------------------------------------------------

    async def _send(
        self, body: dict[str, Any], deadline: float, *, stream: bool
    ) -> tuple[httpx.Response, float]:
        """The response to ``body`` with a 2xx status (for ``stream``, its body still unread),
        after the retries the failure allows, and when its first token is due."""
        attempt = 0
        while True:
            try:
                return await self._send_once(body, deadline, stream=stream)
            except LLMError as exc:
                wait = self._retry_wait(exc, attempt, deadline)
                if wait is None:
                    raise
                attempt += 1
                log.info(
                    "llm.retry",
                    model=self.model,
                    attempt=attempt,
                    wait=round(wait, 3),
                    error=type(exc).__name__,
                )
                await asyncio.sleep(wait)

    def _retry_wait(self, exc: LLMError, attempt: int, deadline: float) -> float | None:
        if not exc.retryable or attempt >= self.settings.max_retries:
            return None
        if isinstance(exc, LLMRateLimited) and exc.retry_after is not None:
            if exc.retry_after > self.settings.retry_after_cap:
                return None
            wait = exc.retry_after
        else:
            base = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
            wait = base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
        # Waiting past the total limit would only end in its timeout.
        if time.monotonic() + wait >= deadline:
            return None
        return wait

    async def _send_once(
        self, body: dict[str, Any], deadline: float, *, stream: bool
    ) -> tuple[httpx.Response, float]:
        first_by = min(deadline, time.monotonic() + self.settings.first_token_timeout)
        request = self._http.build_request("POST", self._url, json=body)
        try:
            async with asyncio.timeout_at(_loop_time(first_by)):
                response = await self._http.send(request, stream=True)
                if not stream or response.status_code >= 300:
                    await response.aread()
        except TimeoutError:
            raise self._timeout(first_by, deadline, "first_token") from None
        except httpx.TimeoutException:
            raise LLMTimeout("connect", self.settings.connect_timeout) from None
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"LLM server unreachable: {type(exc).__name__}") from None
        if response.status_code < 300:
            return response, first_by
        await response.aclose()
        raise self._status_error(response)

    def _timeout(self, limit: float, deadline: float, phase: str) -> LLMTimeout:
        if limit >= deadline:
            return LLMTimeout("total", self.settings.total_timeout)
        if phase == "idle":
            return LLMTimeout("idle", self.settings.first_token_timeout)
        return LLMTimeout("first_token", self.settings.first_token_timeout)

    def _status_error(self, response: httpx.Response) -> LLMError:
        status = response.status_code
        said = self._quote(error_text(response.content))
        if status == 429:
            return LLMRateLimited(f"LLM rate limited (429): {said}", retry_after(response))
        if status >= 500:
            return LLMServerError(f"LLM server error ({status}): {said}", status)
        return LLMRequestRejected(f"LLM request rejected ({status}): {said}", status)

    def _quote(self, text: str) -> str:
        text = text[:QUOTED_CHARS]
        if self._key:
            text = text.replace(self._key, "***")
        return text

    # -- reading a stream ---------------------------------------------------------------------

    async def _events(
        self, response: httpx.Response, first_by: float, deadline: float
    ) -> AsyncIterator[str]:
        """The ``data`` of each server-sent event: the first by ``first_by``, each next one
        within the idle limit of the one before, all by ``deadline``."""
        lines = response.aiter_lines()
        data: list[str] = []
        read_by, phase = first_by, "first_token"
        while True:
            try:
                async with asyncio.timeout_at(_loop_time(read_by)):
                    line = await anext(lines)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise self._timeout(read_by, deadline, phase) from None
            except httpx.HTTPError as exc:
                raise LLMTruncated(f"LLM stream broken: {type(exc).__name__}") from None
            if phase == "idle":
                read_by = min(deadline, time.monotonic() + self.settings.first_token_timeout)
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
                    phase = "idle"
                    read_by = min(deadline, time.monotonic() + self.settings.first_token_timeout)
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            # Comments (": keep-alive"), "event:", "id:" and "retry:" lines carry nothing here.
        if data:
            yield "\n".join(data)

    async def _parts(
        self, response: httpx.Response, first_by: float, deadline: float
    ) -> AsyncGenerator[StreamPart, None]:
        pending: dict[int, PendingCall] = {}
        reason: str | None = None
        usage: Usage | None = None
        events = self._events(response, first_by, deadline)
        async for data in events:
            if data.strip() == "[DONE]":
                await _drain(events)
                break
            chunk = parse_json(data.encode(), "stream chunk")
            if not isinstance(chunk, dict):
                raise LLMBadAnswer("LLM stream chunk is not a JSON object")
            if "error" in chunk:
                raise LLMServerError(
                    f"LLM error in stream: {self._quote(error_message(chunk))}", None
                )
            usage = usage_of(chunk.get("usage")) or usage
            choices = chunk.get("choices")
            if not isinstance(choices, list) or not choices:
                continue  # a usage-only chunk
            choice = choices[0]
            if not isinstance(choice, dict):
                raise LLMBadAnswer("LLM stream choice is not a JSON object")
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise LLMBadAnswer("LLM stream delta is not a JSON object")
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield TextDelta(content)
            fragments = delta.get("tool_calls") or []
            if not isinstance(fragments, list):
                raise LLMBadAnswer("LLM stream tool calls are not a list")
            for fragment in fragments:
                gather_fragment(pending, fragment)
            if choice.get("finish_reason"):
                reason = str(choice["finish_reason"])
        if reason is None:
            raise LLMTruncated("LLM stream ended before its finish")
        for index in sorted(pending):
            yield tool_call(pending[index], index, truncated=reason == "length")
        yield Finished(reason, usage)


# -- helpers ----------------------------------------------------------------------------------


async def _drain(events: AsyncIterator[str]) -> None:
    """Read a stream past its ``[DONE]`` to the body's end (the chunked encoding's last chunk
    often comes in a read of its own), so that httpx returns the connection to the pool rather
    than closing it: a model request per turn then costs no new TCP connection. A server that
    keeps the body open longer than ``DRAIN_SECONDS`` after ``[DONE]`` loses the connection
    instead (closing the response drops it); what it sends there is ignored."""
    with contextlib.suppress(TimeoutError, LLMError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in events:
                pass


def _loop_time(monotonic_at: float) -> float:
    """A `time.monotonic` instant on the running loop's clock (asyncio.timeout_at's)."""
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_at - time.monotonic())
