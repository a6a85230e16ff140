"""``create_app(settings)``: the one place that wires storage, auth and routers together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncEngine

from credira import __version__
from credira.account.endpoints import router as account_router
from credira.agent.endpoints import router as agent_router
from credira.api import errors
from credira.api.deps import Runtime
from credira.api.fast_json import JSONResponse
from credira.api.middleware import EdgeMiddleware
from credira.api.responses import (
    INPUT_TYPES,
    HealthRead,
    ReadyRead,
    bound_numbers,
    document_error_media,
    document_id_fields,
    document_no_nul,
    document_parameters,
    document_success,
    errors_for,
    link_input_types,
    reply,
)
from credira.auth.keys import hash_key
from credira.call.endpoints import media as media_router
from credira.call.endpoints import router as call_router
from credira.callout.endpoints import router as callout_router
from credira.config import Settings
from credira.conversation.endpoints import router as relay_router
from credira.dashboard.routes import install as install_dashboard
from credira.db.engine import ping
from credira.email.endpoints import router as email_router
from credira.email.tracking_endpoints import router as tracking_router
from credira.email_template.endpoints import router as email_template_router
from credira.email_template.schemas import document_limits as document_template_limits
from credira.errors import ServiceUnavailable
from credira.event.endpoints import router as event_router
from credira.hooks.endpoints import router as hooks_router
from credira.invoice.endpoints import router as invoice_router
from credira.kit.clock import Clock
from credira.kit.envelope import success_body
from credira.kit.process import settle_heap
from credira.metrics.endpoints import router as metrics_router
from credira.metrics.middleware import MetricsMiddleware
from credira.plan.endpoints import invoices as invoice_plan_router
from credira.plan.endpoints import router as plan_router
from credira.provider.endpoints import router as provider_router
from credira.secret.service import signing_key_at_start
from credira.user.endpoints import router as user_router
from credira.webhook.endpoints import router as webhook_router
from credira.wiring import assemble, build_worker

DESCRIPTION = """
Self-hostable, API-compatible implementation of Credira's public API: schedule callouts
(AI voice calls and templated emails) for unpaid invoices, and read what happened.

Every reply uses the envelope `{"success", "data" | "error", "meta"}`. Authenticate with
`Authorization: Bearer <key>`. Every POST accepts an `Idempotency-Key`; single-object replies
carry an `ETag`, and PUT honours `If-Match`.
"""


def create_app(
    settings: Settings, *, engine: AsyncEngine | None = None, clock: Clock | None = None
) -> FastAPI:
    owned_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = assemble(settings, engine=engine, clock=clock)
        db, sessions, the_clock = parts.engine, parts.sessionmaker, parts.clock
        app.state.engine = db
        runtime = Runtime(
            settings=settings,
            sessionmaker=sessions,
            read_sessionmaker=parts.read_sessionmaker,
            clock=the_clock,
            env_admin_hash=hash_key(settings.admin_key) if settings.admin_key else None,
            voice=parts.voice,
            signing_key=await signing_key_at_start(settings, sessions, clock=the_clock),
        )
        app.state.runtime = runtime
        settle_heap()
        stop = asyncio.Event()
        worker_task: asyncio.Task[None] | None = None
        if settings.embedded_worker:
            runtime.worker = build_worker(settings, parts)
            worker_task = asyncio.create_task(runtime.worker.run(stop))
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            if runtime.limiter is not None:
                await runtime.limiter.aclose()
            if runtime.llm_client is not None:
                await runtime.llm_client.aclose()
            if owned_engine:
                await db.dispose()

    app = FastAPI(
        title="Credira API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    errors.install(app)

    # Each router goes straight under the app with the /v1 prefix: a route is found by testing
    # every candidate ahead of it, each nesting level testing its routes again.
    for router in (
        user_router,
        invoice_router,
        agent_router,
        callout_router,
        call_router,
        email_template_router,
        email_router,
        account_router,
        provider_router,
        event_router,
        plan_router,
        invoice_plan_router,
        webhook_router,
    ):
        app.include_router(router, prefix="/v1")
    app.include_router(media_router)
    app.include_router(tracking_router)
    app.include_router(hooks_router)
    app.include_router(relay_router)
    app.include_router(_probes())
    app.include_router(metrics_router)
    install_dashboard(app)
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
    )
    # Outermost, so that what the edge refuses (431, 413) is counted too.
    app.add_middleware(MetricsMiddleware)
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    return app


def _probes() -> APIRouter:
    router = APIRouter(tags=["Operations"])

    # The probes need no key and no body: they answer 200, 503 (ready only) or 500.
    probe_errors: dict[int | str, dict[str, Any]] = {
        k: v for k, v in errors_for(503).items() if k in (500, 503)
    }

    @router.get("/health", summary="Liveness", responses={**reply(HealthRead), **probe_errors})
    async def health(request: Request) -> JSONResponse:
        """The process is up. No authentication, no database."""
        return JSONResponse(success_body({"status": "ok"}, _rid(request)))

    @router.get("/ready", summary="Readiness", responses={**reply(ReadyRead), **probe_errors})
    async def ready(request: Request) -> JSONResponse:
        """The database answers. ``SERVICE_UNAVAILABLE`` (503) when it does not."""
        try:
            await ping(request.app.state.engine)
        except Exception as exc:
            raise ServiceUnavailable("The database is not reachable") from exc
        return JSONResponse(success_body({"status": "ready", "database": "ok"}, _rid(request)))

    return router


def _rid(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "credira_sk_... key"}
    }
    link_input_types(components.setdefault("schemas", {}))
    components["schemas"].update(INPUT_TYPES)
    document_template_limits(components["schemas"], settings)
    bound_numbers(schema)
    document_id_fields(components["schemas"])
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            document_success(operation)
            document_error_media(operation)
            document_parameters(path, method, operation)
            # The media files need a key too (they answer 401), the tracking links do not.
            if path.startswith("/v1/") or "401" in operation.get("responses", {}):
                operation["security"] = [{"bearerAuth": []}]
            if path.startswith("/v1/"):
                _document_safe_writes(method, operation, versioned="put" in operations)
    document_no_nul(schema)
    app.openapi_schema = schema
    return schema


_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_ETAG = {"description": "The object's version, for If-Match", "schema": {"type": "string"}}


def _error(status: int) -> dict[str, Any]:
    description = errors_for(status)[status]["description"]
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _document_safe_writes(method: str, operation: dict[str, Any], *, versioned: bool) -> None:
    """Declare what every route of a kind can answer: idempotency keys on POST (a reused key is
    ``CONFLICT``), ``If-Match`` on PUT, 413 for any body, and ``ETag`` on the GET and PUT of an
    object that can be updated (``versioned``: its path has a PUT)."""
    responses = operation.setdefault("responses", {})
    parameters = operation.setdefault("parameters", [])
    if method == "post":
        parameters.append(
            _header(
                "Idempotency-Key",
                "Makes the POST safe to retry: the same key and body replay the stored reply "
                "(header Idempotent-Replayed: true); the same key with another body is CONFLICT.",
                # 1 to 255 printable characters (headers are read as Latin-1).
                maxLength=255,
                pattern="^[\\x20-\\x7e\\xa1-\\xac\\xae-\\xff]{1,255}$",
            )
        )
        responses.setdefault("409", _error(409))
    if method == "put":
        parameters.append(
            _header("If-Match", "The ETag of your copy; PRECONDITION_FAILED when it is stale.")
        )
        responses.setdefault("412", _error(412))
    if "requestBody" in operation:
        responses.setdefault("413", _error(413))
    if versioned and method in ("get", "put"):
        for status, response in responses.items():
            if status.startswith("2"):
                response.setdefault("headers", {})["ETag"] = _ETAG
    operation["responses"] = dict(sorted(responses.items()))
