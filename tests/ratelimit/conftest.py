"""Rate-limit tests build their own apps, with tiny limits, on the test's database.

Redis comes from ``CREDIRA_TEST_REDIS_URL`` (default: the local server, database 15). Outside
CI its tests skip with the reason when no server answers; in CI (``CI=true``) they fail, as the
PostgreSQL ones do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import redis

from credira.app import create_app
from credira.config import Settings
from credira.ratelimit.http import RateLimitHeaders
from tests.ratelimit.helpers import IN_CI, REDIS_URL, UNLIMITED, MakeApi
from tests.support import Api


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
async def make_api(settings: Settings) -> AsyncIterator[MakeApi]:
    """Start an app on the test's database with some settings changed (no limits unless
    given); each call is another instance (a replica) of the service. ``with_headers`` adds
    the middleware that puts the ``RateLimit-*`` fields on admitted replies."""
    async with AsyncExitStack() as stack:

        async def make(*, with_headers: bool = False, **overrides: Any) -> Api:
            fields = {**settings.model_dump(), **UNLIMITED, **overrides}
            app = create_app(Settings(**fields))
            if with_headers:
                app.add_middleware(RateLimitHeaders)
            await stack.enter_async_context(app.router.lifespan_context(app))
            stack.push_async_callback(_close_limiter, app)
            transport = httpx.ASGITransport(app=app)
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
            return Api(http)

        yield make


async def _close_limiter(app: Any) -> None:
    limiter = app.state.runtime.limiter
    if limiter is not None:
        await limiter.aclose()
