"""A local OpenAI-compatible server: ``POST /v1/chat/completions`` over real HTTP, streamed
(server-sent events, ``data: {chunk}`` lines, then ``data: [DONE]``) or not, as Ollama, vLLM
and OpenAI answer it (https://platform.openai.com/docs/api-reference/chat).

Each request takes the next scripted `Reply` (``fake.script(...)``), else asks
``fake.responder(body)``, else is answered 500 "no scripted reply" (a test never gets an answer
it did not write). Every request is recorded (``fake.requests``: body and headers), to assert
the model, messages, tools, ``response_format`` and Authorization the client sent.
``GET /v1/models`` lists ``fake.models``.

The server checks what a real one refuses (400): no model, no messages, a ``response_format``
``json_schema`` whose name or strict schema OpenAI would not take (every object closed with
``additionalProperties: false`` and all its properties required). With ``api_key`` set, any
other Bearer token is a 401 that quotes the token sent, as some servers do.

Replies (constructors below): text in pieces, tool calls with their arguments split across
chunks, a structured answer, and failures: 429 with Retry-After, 5xx, 4xx, a hang (until the
server stops), a slow answer, malformed JSON, a stream cut mid-way (cleanly or by a dropped
connection), an answer cut short by ``finish_reason: "length"``, a refusal.

    async with FakeOpenAI() as fake:
        fake.script(text("Hello", " there"), tool_calls(call("end_call", {})))
        settings = LLMSettings(url=fake.url, model="fake-model")
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.telephony.local_server import LocalServer

MODEL_NAME = "fake-model"
SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Call:
    """A tool call the model makes: ``arguments`` an object, or a string sent as is."""

    name: str
    arguments: Mapping[str, Any] | str
    id: str | None = None


@dataclass
class Reply:
    """What the server answers one request with. ``pieces`` are the stream's deltas (``{"content":
    ...}`` or ``{"tool_calls": [...]}``); a request that does not stream gets them joined."""

    pieces: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = "stop"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # the body of a failure
    raw: str | None = None  # a body (or, streaming, a data line) sent as is
    refusal: str | None = None
    hang: bool = False
    delay: float = 0.0  # before the response starts
    chunk_delay: float = 0.0  # before each chunk of a stream after the first
    cut_after: int | None = None  # stream: stop after this many chunks, no finish, no [DONE]
    abort: bool = False  # with cut_after: drop the connection instead of ending cleanly
    usage: dict[str, int] | None = field(
        default_factory=lambda: {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    )


def text(*pieces: str, finish: str = "stop", chunk_delay: float = 0.0) -> Reply:
    return Reply([{"content": p} for p in pieces], finish, chunk_delay=chunk_delay)


def call(name: str, arguments: Mapping[str, Any] | str, id: str | None = None) -> Call:
    return Call(name, arguments, id)


def tool_calls(*calls: Call, say: tuple[str, ...] = (), split: int = 3) -> Reply:
    """Tool calls as OpenAI streams them: per call, a first fragment with its index, id and
    name, then its arguments in ``split`` pieces (index only); after any text in ``say``."""
    pieces: list[dict[str, Any]] = [{"content": p} for p in say]
    for index, made in enumerate(calls):
        arguments = (
            made.arguments if isinstance(made.arguments, str) else json.dumps(made.arguments)
        )
        pieces.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": made.id or f"call_{index}_{made.name}",
                        "type": "function",
                        "function": {"name": made.name, "arguments": ""},
                    }
                ]
            }
        )
        size = max(1, -(-len(arguments) // split))
        for start in range(0, len(arguments), size):
            fragment = arguments[start : start + size]
            pieces.append({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    return Reply(pieces, "tool_calls")


def structured(value: Mapping[str, Any] | str) -> Reply:
    """A structured answer: ``value`` as its JSON text (a string: that text as is)."""
    content = value if isinstance(value, str) else json.dumps(value)
    return Reply([{"content": content}])


def rate_limited(retry_after: str | None = "1", *, header: str = "Retry-After") -> Reply:
    headers = {header: retry_after} if retry_after is not None else {}
    error = {"message": "Rate limit reached", "type": "rate_limit_error", "code": None}
    return Reply(status=429, headers=headers, error={"error": error})


def server_error(status: int = 500) -> Reply:
    error = {"message": "The server had an error", "type": "server_error", "code": None}
    return Reply(status=status, error={"error": error})


def rejected(status: int = 400, message: str = "Bad request") -> Reply:
    error = {"message": message, "type": "invalid_request_error", "code": None}
    return Reply(status=status, error={"error": error})


def hang() -> Reply:
    """Never answers (until the server stops)."""
    return Reply(hang=True)


def slow(seconds: float, then: Reply) -> Reply:
    then.delay = seconds
    return then


def malformed(body: str = '{"id": "chatcmpl-1", "choices": [{"ind') -> Reply:
    """A 200 whose body (streaming: a data line) is not JSON."""
    return Reply(raw=body)


def cut(reply: Reply, after: int = 1, *, abort: bool = False) -> Reply:
    """``reply``'s stream stopped after ``after`` chunks: ended cleanly, or the connection
    dropped (``abort``)."""
    reply.cut_after = after
    reply.abort = abort
    return reply


def truncated(content: str) -> Reply:
    """An answer the model stopped for running out of tokens."""
    return Reply([{"content": content}], "length")


def refusal(message: str = "I can't help with that.") -> Reply:
    return Reply(refusal=message)


@dataclass(frozen=True)
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    # The client's end of the TCP connection the request came on (host, port): requests on
    # one kept-alive connection share it.
    peer: tuple[str, int] | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class _Dropped(Exception):
    """Raised inside a stream to make the server drop the connection."""


class FakeOpenAI(LocalServer):
    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self._script: deque[Reply] = deque()
        self._ids = count(1)
        self._release: asyncio.Event | None = None
        # What GET /v1/models lists (Ollama: the models pulled).
        self.models: list[str] = [MODEL_NAME]
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._complete, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    @property
    def url(self) -> str:
        """The base URL a client is given (CREDIRA_LLM_URL)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self._script.extend(replies)

    @property
    def unused(self) -> int:
        """Scripted replies no request has taken yet."""
        return len(self._script)

    async def __aenter__(self) -> FakeOpenAI:
        self._release = asyncio.Event()
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._release is not None:
            self._release.set()  # hanging requests end, so the server can stop
        await super().__aexit__(*exc)

    # -- the endpoint -------------------------------------------------------------------------

    async def _complete(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object.")
        peer = (request.client.host, request.client.port) if request.client else None
        self.requests.append(Recorded(body, headers, peer))
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            sent = headers.get("authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {sent}.", "invalid_api_key")
        problem = _request_problem(body)
        if problem:
            return _error(400, problem)
        if self._script:
            reply = self._script.popleft()
        elif self.responder is not None:
            reply = self.responder(body)
        else:
            return _error(500, "fake_openai: no scripted reply for this request")
        if reply.hang:
            assert self._release is not None
            await self._release.wait()
            return _error(503, "fake_openai: stopped while hanging")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(reply.error or {}, reply.status, headers=reply.headers)
        model = str(body["model"])
        ident = f"chatcmpl-{next(self._ids)}"
        if body.get("stream"):
            return StreamingResponse(
                self._chunks(reply, ident, model),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        if reply.raw is not None:
            return Response(reply.raw, media_type="application/json")
        return JSONResponse(_completion(reply, ident, model))

    async def _models(self, request: Request) -> Response:
        sent = request.headers.get("authorization", "")
        if self.api_key is not None and sent != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        listed = [{"id": m, "object": "model", "owned_by": "library"} for m in self.models]
        return JSONResponse({"object": "list", "data": listed})

    async def _chunks(self, reply: Reply, ident: str, model: str) -> AsyncIterator[str]:
        base = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
        }

        def event(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return f"data: {json.dumps(base | {'choices': [choice]})}\n\n"

        chunks = [event({"role": "assistant", "content": ""})]
        if reply.raw is not None:
            chunks.append(f"data: {reply.raw}\n\n")
        chunks.extend(event(piece) for piece in reply.pieces)
        if reply.refusal is not None:
            chunks.append(event({"refusal": reply.refusal}))
        chunks.append(event({}, reply.finish_reason))
        if reply.usage is not None:
            chunks.append(f"data: {json.dumps(base | {'choices': [], 'usage': reply.usage})}\n\n")
        chunks.append("data: [DONE]\n\n")
        for index, chunk in enumerate(chunks):
            if reply.cut_after is not None and index >= reply.cut_after:
                if reply.abort:
                    raise _Dropped("fake_openai: connection dropped mid-stream")
                return
            if index and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield chunk


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status)


def _completion(reply: Reply, ident: str, model: str) -> dict[str, Any]:
    content = "".join(p.get("content", "") for p in reply.pieces if "content" in p)
    calls: dict[int, dict[str, Any]] = {}
    for piece in reply.pieces:
        for fragment in piece.get("tool_calls", ()):
            made = calls.setdefault(
                fragment["index"],
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            made["id"] = fragment.get("id") or made["id"]
            function = fragment.get("function", {})
            made["function"]["name"] = function.get("name") or made["function"]["name"]
            made["function"]["arguments"] += function.get("arguments", "")
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    if reply.refusal is not None:
        message["refusal"] = reply.refusal
    answer: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
    }
    if reply.usage is not None:
        answer["usage"] = reply.usage
    return answer


def _request_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in (
            "system", "user", "assistant", "tool", "developer"
        ):  # fmt: skip
            return "each message needs a role"
    response_format = body.get("response_format")
    if response_format is None:
        return None
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return "response_format: only json_schema is served here"
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not SCHEMA_NAME.match(str(spec.get("name", ""))):
        return "response_format.json_schema.name must match ^[A-Za-z0-9_-]{1,64}$"
    if spec.get("strict") is True:
        return _strict_problem(spec.get("schema"), "schema")
    return None


def _strict_problem(schema: Any, where: str) -> str | None:
    """What OpenAI's strict mode refuses in a schema: an object not closed, or one whose
    properties are not all required."""
    if not isinstance(schema, dict):
        return f"{where}: a schema must be an object"
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" in kinds:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return f"{where}: additionalProperties must be false in strict mode"
        if sorted(schema.get("required", [])) != sorted(properties):
            return f"{where}: every property must be required in strict mode"
        for name, sub in properties.items():
            problem = _strict_problem(sub, f"{where}.{name}")
            if problem:
                return problem
    if "array" in kinds and "items" in schema:
        return _strict_problem(schema["items"], f"{where}[]")
    for key in ("anyOf",):
        for index, sub in enumerate(schema.get(key, [])):
            problem = _strict_problem(sub, f"{where}.{key}[{index}]")
            if problem:
                return problem
    return None
