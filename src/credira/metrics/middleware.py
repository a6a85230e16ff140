"""Requests by route template and status, with latency: a pure ASGI layer (no task, no body
copy), adding two dictionary lookups, a counter increment and a histogram observation to a
request. The route is the template the router matched (``/v1/callouts/{callout_id}``: the
route left in ``scope["route"]`` once the app has run, with the prefix it was included under),
never the raw path, so ids do not multiply series."""

from __future__ import annotations

import time
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client.metrics import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credira.metrics.registry import REQUEST_SECONDS, REQUESTS

UNMATCHED = "<unmatched>"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label children by key: labels() takes a lock and builds a tuple each time.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}
        # A route as included (under its router's prefix) -> its whole template.
        self._templates: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._observe(scope, status, time.perf_counter() - began)

    def _template(self, scope: Scope) -> str:
        route: Any = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            self._templates = {
                id(context.original_route): str(context.path_format)
                for context in iter_route_contexts(scope["app"].routes)
                if context.path_format
            }
        return self._templates.get(id(route)) or str(getattr(route, "path", UNMATCHED))

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        template = self._template(scope)
        method = scope["method"]
        key = (method, template, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(method, template, str(status))
        counter.inc()
        histogram = self._histograms.get(key[:2])
        if histogram is None:
            histogram = REQUEST_SECONDS.labels(method, template)
            self._histograms[key[:2]] = histogram
        histogram.observe(seconds)
