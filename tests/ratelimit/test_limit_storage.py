"""Where the counts live: Redis shared by every replica, memory per process, and what happens
when Redis is gone (the API keeps answering, unlimited, and says so in the log)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.util import WindowStats
from structlog.testing import capture_logs

from credira.ratelimit.limiter import OUTAGE_BACKOFF_SECONDS, RequestLimiter
from tests.ratelimit.helpers import DEAD_REDIS_URL, MakeApi
from tests.support import Tenant


def as_seen_by(tenant: Tenant, replica: Any) -> Tenant:
    """The same key, sent to another instance of the service."""
    return Tenant(replica, tenant.key, tenant.user_id, tenant.account_id)


@pytest.mark.parametrize(
    ("storage", "admitted"),
    [
        ("redis", 3),  # one window, whichever replica answers
        ("memory", 6),  # each process counts its own: 3 each
    ],
)
async def test_limits_hold_across_replicas_only_when_they_share_redis(
    make_api: MakeApi, request: pytest.FixtureRequest, storage: str, admitted: int
) -> None:
    url = request.getfixturevalue("redis_url") if storage == "redis" else None
    # Users are made on an unlimited instance: only the new key's requests are counted.
    tenant = await (await make_api()).tenant()
    replicas = [await make_api(redis_url=url, rate_limit_per_key="3/hour") for _ in range(2)]

    statuses = []
    for n in range(6):
        reply = await as_seen_by(tenant, replicas[n % 2]).request(
            "GET", f"/v1/users/{tenant.user_id}"
        )
        statuses.append(reply.status_code)

    assert statuses == [200] * admitted + [429] * (6 - admitted)


async def test_redis_limit_refusal_has_the_documented_shape(
    make_api: MakeApi, redis_url: str
) -> None:
    tenant = await (await make_api()).tenant()
    api = await make_api(redis_url=redis_url, rate_limit_create_call="1/hour")
    caller = as_seen_by(tenant, api)
    invoice = await caller.invoice()
    agent = await caller.agent()
    body = {
        "phone_number": "+14155550100",
        "invoice_id": invoice["id"],
        "voice_agent_id": agent["id"],
    }
    assert (await caller.request("POST", "/v1/calls", json=body)).status_code == 201

    refused = await caller.request("POST", "/v1/calls", json=body)

    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "RATE_LIMITED",
        "message": "Too many call requests. Please wait before making another call.",
    }
    assert 3500 <= int(refused.headers["retry-after"]) <= 3600


async def test_unreachable_redis_fails_open_with_a_warning(make_api: MakeApi) -> None:
    limits = {"rate_limit_per_key": "1/hour", "rate_limit_per_account": "1/hour"}
    api = await make_api(redis_url=DEAD_REDIS_URL, rate_limit_create_call="1/hour", **limits)
    started = time.monotonic()
    with capture_logs() as logs:
        tenant = await api.tenant()
        invoice = await tenant.invoice()
        agent = await tenant.agent()
        body = {
            "phone_number": "+14155550100",
            "invoice_id": invoice["id"],
            "voice_agent_id": agent["id"],
        }
        calls = [await tenant.request("POST", "/v1/calls", json=body) for _ in range(2)]
        reads = [await tenant.request("GET", f"/v1/users/{tenant.user_id}") for _ in range(3)]
    elapsed = time.monotonic() - started

    assert [r.status_code for r in calls] == [201, 201]
    assert [r.status_code for r in reads] == [200, 200, 200]
    warnings = [e for e in logs if e["event"] == "ratelimit.storage_unavailable"]
    assert warnings, logs
    assert {w["log_level"] for w in warnings} == {"warning"}
    # Once per outage interval, not once per request (the interval itself: see below).
    assert len(warnings) <= 1 + elapsed // OUTAGE_BACKOFF_SECONDS


class FlakyStorage:
    """A limiter strategy whose storage is down until told otherwise."""

    def __init__(self) -> None:
        self.down = True
        self.hits = 0

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        if self.down:
            raise StorageError(ConnectionError("Connection refused"))
        self.hits += 1
        return self.hits <= item.amount

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        return WindowStats(time.time() + 60, item.amount - self.hits)


async def test_limiter_tries_redis_again_after_the_outage_interval() -> None:
    storage = FlakyStorage()
    now = [1000.0]
    limiter = RequestLimiter(
        storage,  # type: ignore[arg-type]
        per_key=[parse("5/minute")],
        monotonic=lambda: now[0],
    )

    with capture_logs() as logs:
        assert await limiter.check_request("hash", None) is None  # down: admitted, uncounted
        storage.down = False
        now[0] += OUTAGE_BACKOFF_SECONDS - 0.1
        assert await limiter.check_request("hash", None) is None  # not asked again yet
        assert storage.hits == 0
        now[0] += 0.2
        quota = await limiter.check_request("hash", None)  # asked again: counted

    assert storage.hits == 1
    assert quota is not None
    assert (quota.limit, quota.remaining) == (5, 4)
    assert [e["event"] for e in logs] == ["ratelimit.storage_unavailable"]
