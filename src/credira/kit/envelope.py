"""The response envelope every endpoint speaks, and a fast JSON response class."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from credira.kit.clock import SystemClock, format_time

_clock = SystemClock()


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return dumps(content)


def meta(request_id: str, **extra: Any) -> dict[str, Any]:
    return {"timestamp": format_time(_clock.now()), "request_id": request_id, **extra}


def success_body(data: Any, request_id: str, **extra_meta: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "meta": meta(request_id, **extra_meta)}


def error_body(
    code: str, message: str, request_id: str, details: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"success": False, "error": error, "meta": meta(request_id)}
