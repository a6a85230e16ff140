"""Security headers on every response, whatever produced it: an endpoint, an error handler, the
edge middleware refusing a body before the app reads it, the router (404, 405), a replayed
idempotent reply, the rate limiter, the probes, the open pixel, the docs. (503 with the
database down: test_database_down.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from credira.config import Settings
from tests.support import ADMIN_KEY, Api, Tenant, bearer

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
BURST_LIMIT = 5


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the headers are the edge's business; one backend is enough


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=False,
        max_body_bytes=4096,
        rate_limit_per_key=f"{BURST_LIMIT}/minute",
    )


Send = Callable[[Tenant], Awaitable[httpx.Response]]

INVOICE = {
    "number": "INV-HDR",
    "amount": "10.00",
    "currency": "USD",
    "due_date": "2024-01-30",
    "customer": {"name": "Jane Roe", "email": "jane@example.com"},
}


async def _rate_limited(tenant: Tenant) -> httpx.Response:
    replies = [await tenant.request("GET", "/v1/invoices") for _ in range(BURST_LIMIT + 1)]
    return replies[-1]


async def _replayed(tenant: Tenant) -> httpx.Response:
    headers = {"Idempotency-Key": "hdr-1"}
    first = await tenant.request("POST", "/v1/invoices", json=INVOICE, headers=headers)
    assert first.status_code == 201, first.text
    return await tenant.request("POST", "/v1/invoices", json=INVOICE, headers=headers)


CASES: list[tuple[str, int, Send]] = [
    ("list", 200, lambda t: t.request("GET", "/v1/invoices")),
    ("create", 201, lambda t: t.request("POST", "/v1/invoices", json=INVOICE)),
    ("idempotent replay", 201, _replayed),
    ("health", 200, lambda t: t.api.client.get("/health")),
    ("ready", 200, lambda t: t.api.client.get("/ready")),
    ("openapi", 200, lambda t: t.api.client.get("/openapi.json")),
    ("docs", 200, lambda t: t.api.client.get("/docs")),
    ("open pixel", 200, lambda t: t.api.client.get("/t/o/not-a-token.gif")),
    ("no key", 401, lambda t: t.api.client.get("/v1/invoices")),
    ("wrong key", 401, lambda t: t.api.client.get("/v1/invoices", headers=bearer("nope"))),
    (
        "admin key refused",
        403,
        lambda t: t.api.client.get("/v1/invoices", headers=bearer(ADMIN_KEY)),
    ),
    (
        "unknown object",
        404,
        lambda t: t.request("GET", "/v1/invoices/inv_00000000000000000000000000"),
    ),
    ("unknown route", 404, lambda t: t.api.client.get("/no/such/route")),
    ("wrong method", 405, lambda t: t.request("DELETE", "/v1/invoices")),
    ("bad id", 400, lambda t: t.request("GET", "/v1/invoices/not-an-id")),
    ("malformed json", 400, lambda t: t.request("POST", "/v1/invoices", content=b"{nope")),
    ("too deep", 400, lambda t: t.request("POST", "/v1/invoices", content=b"[" * 40 + b"]" * 40)),
    ("too large", 413, lambda t: t.request("POST", "/v1/invoices", content=b" " * 5000)),
    (
        "invalid value",
        422,
        lambda t: t.request("POST", "/v1/invoices", json={**INVOICE, "amount": "ten"}),
    ),
    ("rate limited", 429, _rate_limited),
]


@pytest.mark.parametrize(
    ("status", "send"), [(status, send) for _, status, send in CASES], ids=[c[0] for c in CASES]
)
async def test_every_response_carries_the_security_headers(
    api: Api, status: int, send: Send
) -> None:
    tenant = await api.tenant()

    reply = await send(tenant)

    assert reply.status_code == status, reply.text
    for name, value in EXPECTED.items():
        # Exactly once: a second, different value would leave the browser to pick one.
        assert reply.headers.get_list(name) == [value], (name, reply.headers)
    assert reply.headers["x-request-id"].startswith("req_")
