"""``GET /metrics``: the Prometheus text format. With ``CREDIRA_METRICS_TOKEN`` set it answers
only ``Authorization: Bearer <token>`` (else ``401 UNAUTHORIZED``, the API's envelope); unset,
anyone who reaches it may read it (keep it off the public network). Not in the OpenAPI
document: it is for the scraper, not for API clients."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import credira.metrics.events  # noqa: F401 - the events this process commits are counted
from credira.errors import Unauthorized
from credira.metrics.collect import render, snapshot
from credira.metrics.registry import process_registry

router = APIRouter(tags=["Operations"])


def _authorised(request: Request, token: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Counters and histograms of this process (of every process in multiprocess mode), then
    gauges read from the database."""
    runtime = request.app.state.runtime
    if not _authorised(request, runtime.settings.metrics_token):
        raise Unauthorized("Invalid or missing metrics token")
    async with runtime.read_sessionmaker() as session:
        taken = await snapshot(session, runtime.clock.now())
    body = generate_latest(process_registry()) + render(taken)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
