"""The HTTP side of rate limiting: count a request, and put its quota on the reply.

A refused request raises ``RateLimited`` (429 ``RATE_LIMITED``) carrying ``Retry-After`` and the
``RateLimit-*`` fields. An admitted one records its quota in the request's scope;
``add_quota_headers`` copies it onto whatever reply the request ends with (a success or any
later error), unless the reply already carries its own (a 429). The app's outermost middleware
calls it (``api/middleware.py``); ``RateLimitHeaders`` does the same as a middleware of its own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credira.ratelimit.address import client_key, trusted_networks
from credira.ratelimit.limiter import RequestLimiter
from credira.ratelimit.quota import Quota

STATE_KEY = "ratelimit_quota"


def _remember(request: Request, quota: Quota | None) -> None:
    state = request.scope.setdefault("state", {})
    state[STATE_KEY] = Quota.tightest((state.get(STATE_KEY), quota))


async def limit_request(
    request: Request, limiter: RequestLimiter, *, key_hash: str, account_id: str | None
) -> None:
    """Count an authenticated request against its key's and its account's limits."""
    _remember(request, await limiter.check_request(key_hash, account_id))


async def limit_create_call(request: Request, limiter: RequestLimiter, account_id: str) -> None:
    """Count a ``POST /v1/calls`` against the account's tighter limit on placing calls."""
    _remember(request, await limiter.check_create_call(account_id))


async def admit_link(request: Request, limiter: RequestLimiter, *, trusted_proxies: str) -> bool:
    """Count one use of an email's link by the request's client address (``address.py``);
    False past the limit. What a link does then is the endpoint's decision."""
    return await limiter.admit_link(client_key(request.scope, trusted_networks(trusted_proxies)))


def add_quota_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
    """Append the request's ``RateLimit-*`` fields to a reply's ``headers``, if it was counted
    and the reply has none of its own."""
    quota: Quota | None = scope.get("state", {}).get(STATE_KEY)
    if quota is not None and not any(k == b"ratelimit-limit" for k, _ in headers):
        headers.extend((k.lower().encode(), v.encode()) for k, v in quota.headers().items())


class RateLimitHeaders:
    """ASGI middleware: the ``RateLimit-*`` fields on every reply to a counted request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                add_quota_headers(scope, headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_quota)
