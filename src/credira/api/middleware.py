"""The outermost ASGI layer: request ids, body limits, and the last line against a 500 trace.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so it adds no task switches per request and
can refuse an oversized body while it streams, before the application reads it.

It also refuses input that parses but cannot be stored or echoed on every backend: ``NaN`` and
``Infinity`` (not JSON), NUL characters (PostgreSQL text cannot hold them), lone surrogates and
integers beyond 64 bits (neither PostgreSQL nor the JSON encoder accepts them). Left to the
endpoints, each of those became a 500 on one backend and silently stored data on the other.

Numbers are held to the interoperable range of RFC 7493 (I-JSON): magnitude at most 2^53-1,
where every integer is exact in a double. Beyond it a JavaScript client, or any tool reading
JSON numbers as doubles, no longer reads back the value it stored; and a schema bound such as
2^63-1 cannot even be written as a double, so no client could tell where the limit was.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credira.api.errors import error_payload
from credira.api.responses import MAX_SAFE_NUMBER
from credira.errors import CrediraError, InvalidRequest, PayloadTooLarge, ValidationFailed
from credira.kit.envelope import dumps
from credira.kit.ids import new_id
from credira.ratelimit.http import add_quota_headers

log = structlog.get_logger("credira.http")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


NUL_TEXT = "Text must not contain NUL (\\u0000) characters"
SURROGATE_TEXT = "Text must be valid Unicode (no unpaired surrogate escapes)"
INTEGER_RANGE = "Integer is out of range (magnitude at most 2^53-1, RFC 7493)"
NUMBER_RANGE = "Number is out of range (finite, magnitude at most 2^53-1, RFC 7493)"


class _Refused(Exception):
    def __init__(self, error: CrediraError) -> None:
        self.error = error


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not valid JSON")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL_TEXT
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_TEXT
    return None


def _unstorable(value: Any, path: list[str]) -> tuple[list[str], str] | None:
    """The first value in a parsed document that no backend can store, and why."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_SAFE_NUMBER else (path, INTEGER_RANGE)
    if isinstance(value, float):
        return None if abs(value) <= MAX_SAFE_NUMBER else (path, NUMBER_RANGE)
    if isinstance(value, dict):
        for key, item in value.items():
            where = [*path, _printable(key)]
            problem = _text_problem(key)
            if problem:
                return where, problem
            found = _unstorable(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, [*path, str(index)])
            if found:
                return found
    return None


def _invalid_value(field: str, reason: str) -> ValidationFailed:
    error = ValidationFailed(f"Invalid value for {field}", details=reason, field=field)
    return error


def check_json_body(body: bytes) -> CrediraError | None:
    """Parse ``body`` as the endpoints will, strictly; the error to answer, if any.

    The nesting depth is checked before this runs, so the walk is bounded.
    """
    if not body.strip():
        return None  # the endpoint answers "Missing request body" when it needs one
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, _NotJson
        return InvalidRequest("Malformed JSON in request body", details=str(exc))
    found = _unstorable(document, [])
    if found is None:
        return None
    path, reason = found
    if not path:
        return InvalidRequest("Malformed JSON in request body", details=reason)
    return _invalid_value(".".join(path), reason)


def check_query(query_string: bytes) -> CrediraError | None:
    """Refuse query values that no backend can compare against (NUL characters)."""
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    # Decoded as Starlette decodes it, so the name is the one the endpoint would see.
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return _invalid_value(_printable(name), NUL_TEXT)
    return None


def _is_json(content_type: bytes | None) -> bool:
    """Whether FastAPI will parse the body as JSON (it does when no type is given)."""
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether a JSON document nests deeper than ``limit`` (strings are skipped)."""
    if body.count(b"{") + body.count(b"[") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return False


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = new_id("request")
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, int] = {}
        response_started = False

        async def send_own(message: Message) -> None:
            """Send a reply of this layer's (a refusal, the last-resort 500)."""
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        async def send_wrapper(message: Message) -> None:
            """Send the application's reply, with the request's rate-limit quota (added here
            rather than by a middleware of its own: each layer costs every request a coroutine
            and a send wrapper)."""
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                add_quota_headers(scope, headers)
                message = {**message, "headers": headers}
            await send_own(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            refused_query = check_query(scope.get("query_string", b""))
            if refused_query is not None:
                raise _Refused(refused_query)
            body_receive = await self._buffer_body(scope, receive)
            await self.app(scope, body_receive, send_wrapper)
        except _Refused as refused:
            await self._send_error(send_own, refused.error, request_id)
        except Exception:
            log.exception("http.request.crashed", path=scope.get("path"))
            if not response_started:
                await self._send_error(send_own, CrediraError(), request_id)
        finally:
            log.info(
                "http.request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status_holder.get("status"),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    async def _buffer_body(self, scope: Scope, receive: Receive) -> Receive:
        """Read the whole body up front (bounded), check its size and JSON depth, replay it."""
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return receive
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_body_bytes:
                    raise _Refused(self._too_large())
            except ValueError:
                raise _Refused(InvalidRequest("Invalid Content-Length header")) from None
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _Refused(self._too_large())
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_depth_exceeds(body, self.max_json_depth):
            raise _Refused(
                InvalidRequest(f"JSON body nests deeper than {self.max_json_depth} levels")
            )
        if _is_json(headers.get(b"content-type")):
            refused = check_json_body(body)
            if refused is not None:
                raise _Refused(refused)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body exceeds the limit of {self.max_body_bytes} bytes")

    @staticmethod
    async def _send_error(send: Send, error: CrediraError, request_id: str) -> None:
        body = dumps(error_payload(error, request_id))
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers.extend((k.lower().encode(), v.encode()) for k, v in error.headers.items())
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def request_id_of(scope_state: Any) -> str:
    return str(getattr(scope_state, "request_id", None) or new_id("request"))
