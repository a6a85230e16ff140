"""``create_app(settings)``: the one place that wires storage, auth and routers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from credira import __version__
from credira.agent.endpoints import router as agent_router
from credira.api import errors
from credira.api.deps import Runtime
from credira.api.middleware import EdgeMiddleware
from credira.api.responses import errors_for
from credira.auth.keys import hash_key
from credira.callout.endpoints import router as callout_router
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.errors import ServiceUnavailable
from credira.invoice.endpoints import router as invoice_router
from credira.kit.clock import Clock, SystemClock
from credira.kit.envelope import JSONResponse, success_body
from credira.user.endpoints import router as user_router

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
        db = engine or create_engine(settings)
        app.state.engine = db
        app.state.runtime = Runtime(
            settings=settings,
            sessionmaker=create_sessionmaker(db),
            clock=clock or SystemClock(),
            env_admin_hash=hash_key(settings.admin_key) if settings.admin_key else None,
        )
        try:
            yield
        finally:
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

    v1 = APIRouter(prefix="/v1")
    for router in (user_router, invoice_router, agent_router, callout_router):
        v1.include_router(router)
    app.include_router(v1)
    app.include_router(_probes())
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _probes() -> APIRouter:
    router = APIRouter(tags=["Operations"])

    @router.get("/health", summary="Liveness", responses=errors_for())
    async def health(request: Request) -> JSONResponse:
        """The process is up. No authentication, no database."""
        return JSONResponse(success_body({"status": "ok"}, _rid(request)))

    @router.get("/ready", summary="Readiness", responses=errors_for())
    async def ready(request: Request) -> JSONResponse:
        """The database answers. ``SERVICE_UNAVAILABLE`` (503) when it does not."""
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise ServiceUnavailable("The database is not reachable") from exc
        return JSONResponse(success_body({"status": "ready", "database": "ok"}, _rid(request)))

    return router


def _rid(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "credira_sk_... key"}
    }
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for operation in operations.values():
            operation["security"] = [{"bearerAuth": []}]
    app.openapi_schema = schema
    return schema
