"""The outermost ASGI layer: request ids, body limits, and the last line against a 500 trace.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so it adds no task switches per request and
can refuse an oversized body while it streams, before the application reads it.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credira.errors import CrediraError, InvalidRequest, PayloadTooLarge
from credira.kit.envelope import dumps, error_body
from credira.kit.ids import new_id

log = structlog.get_logger("credira.http")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class _BodyRefused(Exception):
    def __init__(self, error: CrediraError) -> None:
        self.error = error


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

        async def send_wrapper(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            body_receive = await self._buffer_body(scope, receive)
            await self.app(scope, body_receive, send_wrapper)
        except _BodyRefused as refused:
            await self._send_error(send_wrapper, refused.error, request_id)
        except Exception:
            log.exception("http.request.crashed", path=scope.get("path"))
            if not response_started:
                await self._send_error(send_wrapper, CrediraError(), request_id)
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
                    raise _BodyRefused(self._too_large())
            except ValueError:
                raise _BodyRefused(InvalidRequest("Invalid Content-Length header")) from None
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
                raise _BodyRefused(self._too_large())
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_depth_exceeds(body, self.max_json_depth):
            raise _BodyRefused(
                InvalidRequest(f"JSON body nests deeper than {self.max_json_depth} levels")
            )
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
        body = dumps(error_body(error.code, error.message, request_id, error.details))
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers.extend((k.lower().encode(), v.encode()) for k, v in error.headers.items())
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def request_id_of(scope_state: Any) -> str:
    return str(getattr(scope_state, "request_id", None) or new_id("request"))
