"""The response envelope every endpoint speaks (its response class is
``credira.api.fast_json.JSONResponse``)."""

from __future__ import annotations

from typing import Any

import orjson

from credira.kit.clock import SystemClock, format_time

_clock = SystemClock()


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


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
