"""PostgreSQL going away and coming back, seen by a client: every request meanwhile answers
``SERVICE_UNAVAILABLE`` (503) in the error envelope, ``/ready`` says 503 while ``/health``
stays up, nothing refused is half-applied, and the service recovers by itself, without a
restart, once the database answers again.

The outage is a TCP proxy between the app and the machine's PostgreSQL (see ``proxy.py``):
cutting it drops every connection and refuses new ones, as a database restart does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from credira.app import create_app
from credira.config import Settings
from tests.faults.proxy import TcpProxy
from tests.support import ADMIN_KEY, Api, Tenant, bearer, eventually

pytestmark = pytest.mark.postgresql


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    with TcpProxy.for_url(database_url) as running:
        yield running


@pytest.fixture
async def client(
    database_url: str, proxy: TcpProxy, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its database behind ``proxy``."""
    settings = Settings(
        database_url=proxy.url(database_url),
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def assert_unavailable(reply: httpx.Response) -> None:
    assert reply.status_code == 503, reply.text
    body = reply.json()
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["error"]["message"]
    assert body["meta"]["request_id"].startswith("req_")
    assert reply.headers["x-request-id"] == body["meta"]["request_id"]
    assert "Traceback" not in reply.text
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["cache-control"] == "no-store"
    # Neither the driver's message nor where the database lives reaches the client.
    assert "127.0.0.1" not in reply.text
    assert "asyncpg" not in reply.text.lower()


NEW_INVOICE = {
    "number": "INV-DOWN",
    "amount": "10.00",
    "currency": "USD",
    "due_date": "2024-01-30",
    "customer": {"name": "Jane Roe", "email": "jane@example.com", "phone": "+14155550100"},
}

# What a client may do while the database is away; {invoice}, {agent}, {callout}, {user}
# are filled with the tenant's objects.
DURING_OUTAGE: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/invoices", None),
    ("GET", "/v1/invoices/{invoice}", None),
    ("POST", "/v1/invoices", NEW_INVOICE),
    ("PUT", "/v1/invoices/{invoice}", {"amount": "99.00"}),
    ("GET", "/v1/callouts/{callout}", None),
    ("PUT", "/v1/callouts/{callout}", {"priority": "low"}),
    ("POST", "/v1/callouts/{callout}/cancel", None),
    ("DELETE", "/v1/voice-agents/{agent}", None),
    ("GET", "/v1/users/{user}", None),
]


async def _scenario(api: Api) -> tuple[Tenant, dict[str, str]]:
    tenant = await api.tenant()
    invoice, agent, callout = await tenant.scenario()
    ids = {
        "invoice": invoice["id"],
        "agent": agent["id"],
        "callout": callout["id"],
        "user": tenant.user_id,
    }
    return tenant, ids


async def _snapshot(tenant: Tenant, ids: dict[str, str]) -> dict[str, Any]:
    """What a client can read of the tenant's objects."""
    invoices = await tenant.ok("GET", "/v1/invoices")
    return {
        "invoices": invoices["data"],
        "callout": (await tenant.ok("GET", f"/v1/callouts/{ids['callout']}"))["data"],
        "agent": (await tenant.ok("GET", f"/v1/voice-agents/{ids['agent']}"))["data"],
    }


async def test_every_request_answers_service_unavailable_while_postgresql_is_down(
    client: httpx.AsyncClient, proxy: TcpProxy
) -> None:
    api = Api(client)
    tenant, ids = await _scenario(api)
    before = await _snapshot(tenant, ids)

    proxy.cut()
    replies = [
        (method, path, await tenant.request(method, path.format(**ids), json=body))
        for method, path, body in DURING_OUTAGE
    ]
    # A key cannot be checked either (401 would tell a valid key it is wrong).
    replies.append(("GET", "unknown key", await client.get("/v1/invoices", headers=bearer("x"))))
    replies.append(
        (
            "POST",
            "/v1/users",
            await client.post(
                "/v1/users",
                json={"email": "new@acme.example.com", "name": "New", "company": "Acme"},
                headers=bearer(ADMIN_KEY),
            ),
        )
    )
    ready = await client.get("/ready")
    health = await client.get("/health")
    proxy.restore()

    for method, path, reply in replies:
        assert reply.status_code == 503, (method, path, reply.text)
        assert_unavailable(reply)
    assert_unavailable(ready)
    assert health.status_code == 200, health.text
    # Back without a restart, and nothing refused was applied.
    assert (await client.get("/ready")).status_code == 200
    assert await _snapshot(tenant, ids) == before


async def test_the_service_recovers_by_itself_when_postgresql_returns(
    client: httpx.AsyncClient, proxy: TcpProxy
) -> None:
    api = Api(client)
    tenant = await api.tenant()
    # Fill the pool with connections that the outage will kill.
    await asyncio.gather(*(tenant.ok("GET", "/v1/invoices") for _ in range(8)))

    proxy.cut()
    assert_unavailable(await tenant.request("GET", "/v1/invoices"))
    await asyncio.sleep(0.5)
    proxy.restore()

    # Every pooled connection died; the first requests after the return must not fail on them.
    replies = await asyncio.gather(*(tenant.request("GET", "/v1/invoices") for _ in range(12)))
    assert [r.status_code for r in replies] == [200] * 12, [r.text for r in replies]
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    created = await tenant.request("POST", "/v1/invoices", json=NEW_INVOICE)
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/invoices", None),
        ("POST", "/v1/invoices", NEW_INVOICE),
        ("GET", "/ready", None),
    ],
)
async def test_a_request_waiting_on_postgresql_when_it_goes_away_answers_503(
    client: httpx.AsyncClient,
    proxy: TcpProxy,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    tenant = await Api(client).tenant()
    await tenant.ok("GET", "/v1/invoices")  # a pooled connection the request will use

    proxy.stall()  # the database stops answering mid-conversation ...
    pending = asyncio.create_task(tenant.request(method, path, json=body))
    await asyncio.sleep(0.3)
    assert not pending.done(), pending.result().text
    proxy.cut()  # ... and then goes away
    reply = await asyncio.wait_for(pending, timeout=10)
    proxy.restore()

    assert_unavailable(reply)
    if method == "POST":
        found = await tenant.ok("GET", "/v1/invoices", params={"number": NEW_INVOICE["number"]})
        assert found["data"] == []


async def test_the_app_starts_without_postgresql_and_serves_once_it_answers(
    database_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=proxy.url(database_url),
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=True,  # its worker must survive the outage too
        worker_poll_seconds=0.05,
    )
    proxy.cut()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/health")).status_code == 200
            assert_unavailable(await http.get("/ready"))
            assert_unavailable(await http.get("/v1/invoices", headers=bearer("credira_sk_x")))

            proxy.restore()

            async def ready() -> bool:
                return (await http.get("/ready")).status_code == 200

            await eventually(ready, within=10)
            tenant = await Api(http).tenant()
            invoice = await tenant.invoice()
            assert invoice["number"]


async def _terminate_app_connections(database_url: str, locker: asyncpg.Connection) -> None:
    """What a PostgreSQL restart does to every session: end it with an admin shutdown."""
    await locker.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )


@pytest.mark.parametrize("how", ["connection_lost", "terminated_by_server"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/invoices/{invoice}", None),
        ("PUT", "/v1/invoices/{invoice}", {"amount": "99.00"}),
        ("POST", "/v1/callouts", "callout"),
    ],
)
async def test_a_query_in_flight_when_postgresql_goes_away_answers_503(
    client: httpx.AsyncClient,
    proxy: TcpProxy,
    database_url: str,
    how: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    tenant = await Api(client).tenant()
    invoice, agent, _ = await tenant.scenario()
    if body == "callout":
        body = {
            "invoice_id": invoice["id"],
            "scheduled_time": "2030-01-20T10:00:00Z",
            "actions": {"calls_enabled": True, "voice_agent_id": agent["id"]},
        }
    before = await _snapshot_invoice(tenant, invoice["id"])
    locker = await asyncpg.connect(_plain(database_url))
    try:
        # The request's query waits on this lock: it is in flight, inside its transaction.
        lock = locker.transaction()
        await lock.start()
        await locker.execute("LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE")
        pending = asyncio.create_task(
            tenant.request(method, path.format(invoice=invoice["id"]), json=body)
        )
        await asyncio.sleep(0.5)
        assert not pending.done(), pending.result().text
        if how == "connection_lost":
            proxy.cut()
        else:
            await _terminate_app_connections(database_url, locker)
        reply = await asyncio.wait_for(pending, timeout=10)
        await lock.rollback()
    finally:
        await locker.close()
    proxy.restore()

    assert_unavailable(reply)
    assert await _snapshot_invoice(tenant, invoice["id"]) == before


async def _snapshot_invoice(tenant: Tenant, invoice_id: str) -> dict[str, Any]:
    return {
        "invoice": (await tenant.ok("GET", f"/v1/invoices/{invoice_id}"))["data"],
        "callouts": (await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice_id}))[
            "data"
        ],
    }


def _plain(url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy URL."""
    return "postgresql://" + url.split("://", 1)[1]
