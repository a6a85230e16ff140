"""One place that turns every failure into the documented error envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from credira.api.fast_json import JSONResponse
from credira.api.idempotency import IdempotentReplay
from credira.errors import (
    Conflict,
    CrediraError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from credira.kit.envelope import error_body
from credira.kit.validation import EMAIL_DETAILS, PHONE_DETAILS

log = structlog.get_logger("credira.http")

# Error types whose message is documented; everything else names the field in its message.
_DOCUMENTED = {
    "phone_format": ("Invalid phone number format", PHONE_DETAILS),
    "email_format": ("Invalid email address format", EMAIL_DETAILS),
}
_SHAPE_ERRORS = {"model_attributes_type", "dict_type", "model_type"}


# SQLSTATE classes that say the database, not the request, is the problem: connection
# exceptions (08), operator intervention (57: shutdown, restart, "cannot connect now", a
# cancelled statement) and insufficient resources (53: too many connections).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "57", "53")


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "the database is away" (a 503 the client may retry)
    rather than a bug (a 500).

    A PostgreSQL restart reaches a request in flight as the driver's "connection was closed in
    the middle of operation" or "terminating connection due to administrator command", which
    SQLAlchemy wraps in a plain ``DBAPIError``, not an ``OperationalError``; a server that is
    starting up or out of connection slots answers with a SQLSTATE of its own.
    """
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # The driver's own error, and what it was raised from.
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError):
            return True
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
            return True
        current = current.__cause__
    return False


def _field(loc: Sequence[Any]) -> str:
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path")
        else list(map(str, loc))
    )
    return ".".join(parts)


def _rank(error: Any) -> int:
    kind = error["type"]
    if kind == "json_invalid":
        return 0
    if kind in _SHAPE_ERRORS and len(error["loc"]) <= 1:
        return 1
    if kind in ("missing", "read_only"):
        return 2
    if kind == "extra_forbidden":
        return 3
    return 4


def validation_error(errors: Sequence[Any]) -> CrediraError:
    """Map pydantic's errors to ``INVALID_REQUEST`` (shape) or ``VALIDATION_ERROR`` (values)."""
    if not errors:
        return InvalidRequest()
    first = dict(min(errors, key=_rank))
    kind = first["type"]
    loc = first.get("loc", ())
    field = _field(loc)
    where = loc[0] if loc else "body"
    if kind == "json_invalid":
        reason = first.get("ctx", {}).get("error", "invalid JSON")
        return InvalidRequest("Malformed JSON in request body", details=str(reason))
    if kind in _SHAPE_ERRORS and len(loc) <= 1:
        return InvalidRequest("Request body must be a JSON object")
    if kind == "missing":
        if where == "body" and not field:
            return InvalidRequest("Missing request body")
        noun = "parameter" if where in ("query", "path", "header") else "field"
        return InvalidRequest(f"Missing required {noun}: {field}")
    if kind == "read_only":
        return InvalidRequest(str(first.get("msg", "Field cannot be updated")))
    if kind == "extra_forbidden":
        noun = "parameter" if where == "query" else "field"
        return InvalidRequest(f"Unknown {noun}: {field}")
    error: CrediraError
    if kind in _DOCUMENTED:
        message, details = _DOCUMENTED[kind]
        error = ValidationFailed(
            message, details=f"{field}: {details}" if field else details, field=field
        )
        return error
    reason = str(first.get("msg", "invalid value"))
    reason = reason.removeprefix("Value error, ")
    error = ValidationFailed(f"Invalid value for {field}", details=reason, field=field)
    return error


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def error_payload(error: CrediraError, request_id: str) -> dict[str, Any]:
    """The envelope of ``error``, with ``error.field`` when the error names one."""
    body = error_body(error.code, error.message, request_id, error.details)
    if error.field:
        body["error"]["field"] = error.field
    return body


def render(error: CrediraError, request_id: str) -> JSONResponse:
    return JSONResponse(
        error_payload(error, request_id), status_code=error.status, headers=error.headers
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's own ``Allow`` names only the
    first route that matched the path, and FastAPI registers one route per method."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods.update(route.methods or ())
    return ", ".join(sorted(methods))


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "req_unknown"))


def install(app: FastAPI) -> None:
    async def on_credira_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CrediraError)
        if exc.status >= 500:
            log.error("http.error", code=exc.code, message=exc.message)
        return render(exc, _request_id(request))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        error = validation_error(exc.errors())
        content_type = request.headers.get("content-type")
        if (
            error.message == "Request body must be a JSON object"
            and content_type is not None
            and not _is_json_type(content_type)
        ):
            # FastAPI hands a non-JSON body over as bytes; say what is actually wrong.
            error = InvalidRequest(
                "Content-Type must be application/json", details=f"got {content_type[:100]}"
            )
        return render(error, _request_id(request))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error: CrediraError
        if exc.status_code == 404:
            error = NotFound(f"No route for {request.method} {request.url.path}")
        elif exc.status_code == 405:
            error = MethodNotAllowed(
                f"Method {request.method} is not allowed on {request.url.path}"
            )
            allow = _allowed_methods(request) or (exc.headers or {}).get("Allow")
            if allow:
                error.headers["Allow"] = allow
        elif exc.status_code == 400:
            error = InvalidRequest(str(exc.detail) if exc.detail else None)
        else:
            error = CrediraError(str(exc.detail))
        return render(error, _request_id(request))

    async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("db.unavailable", error=str(exc)[:500])
        return render(ServiceUnavailable(), _request_id(request))

    async def on_integrity(request: Request, exc: Exception) -> JSONResponse:
        log.warning("db.integrity", error=str(exc)[:300])
        return render(
            Conflict("The request conflicts with an existing object; fetch it and retry"),
            _request_id(request),
        )

    async def on_stale(request: Request, exc: Exception) -> JSONResponse:
        # The row changed between this request's read and its write (a worker recorded an
        # outcome, say): the version check refused the write, and nothing was changed.
        log.info("db.stale", error=str(exc)[:300])
        return render(
            Conflict("The object changed while this request ran; fetch it and retry"),
            _request_id(request),
        )

    async def on_replay(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IdempotentReplay)
        return Response(
            exc.body,
            status_code=exc.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unexpected", exc_info=exc)
        return render(CrediraError(), _request_id(request))

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            return await on_database_down(request, exc)
        return await on_unexpected(request, exc)

    app.add_exception_handler(CrediraError, on_credira_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(PoolTimeout, on_database_down)
    app.add_exception_handler(ConnectionError, on_database_down)
    # Anything else propagates to EdgeMiddleware, which renders INTERNAL_ERROR without re-raising.
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(StaleDataError, on_stale)
    app.add_exception_handler(IdempotentReplay, on_replay)
    app.add_exception_handler(DBAPIError, on_database_error)
