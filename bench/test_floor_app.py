"""The floor (``bench/floor_app.py``) does Credira's work on Credira's rows: each reads what the
other wrote and answers the same callout object, on both databases, so that the floor ratio
compares like with like. Both apps run in this process (no server, no load)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bench import api, dbs, floor_app, seed
from bench.dbs import Database
from credira.app import create_app
from credira.callout.state import CalloutStatus
from credira.config import Settings
from credira.db import migrate


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        with dbs.fresh_database("sqlite", "floortest") as db:
            yield db
        return
    if why := dbs.postgres_available():
        pytest.skip(why)
    # As dbs.fresh_database, but the database is dropped beside the tests that follow: a DROP
    # waits for a checkpoint, seconds on a busy machine (the process waits for it at exit).
    name = f"credira_bench_floortest_{os.getpid()}"
    asyncio.run(dbs._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(dbs._admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = dbs.ADMIN_URL.rpartition("/")
    url = "postgresql+asyncpg://" + f"{base}/{name}".split("://", 1)[1]
    try:
        migrate.upgrade(url)
        yield Database("postgresql", url, tmp_path_factory.mktemp("floor-data"))
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        threading.Thread(target=asyncio.run, args=(dbs._admin(drop),)).start()


async def _exchange(db: Database, tenant: seed.Tenant, hot: api.Hot) -> None:
    settings = Settings(
        database_url=db.url,
        data_dir=db.data_dir,
        embedded_worker=False,
        rate_limit_per_key="1000000/second",
        rate_limit_per_account="1000000/second",
    )
    credira = create_app(settings)
    floor_app.state.store = floor_app.store_for(db.url)
    await floor_app.state.store.open()
    headers = {"Authorization": f"Bearer {tenant.key}"}

    def client(app: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app)
        return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)

    async def data(http: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
        reply = await http.request(method, path, **kw)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()["data"]

    try:
        async with (
            credira.router.lifespan_context(credira),
            client(credira) as c,
            client(floor_app.app) as f,
        ):
            one, two = hot.callouts[0], hot.callouts[1]
            for path in (f"/v1/callouts/{one}", f"/v1/callouts?invoice_id={hot.invoices[0]}"):
                assert await data(f, "GET", path) == await data(c, "GET", path)

            # Each reads what the other wrote.
            changed = await data(
                c, "PUT", f"/v1/callouts/{one}", json={"metadata": {"a": 1}, "priority": "high"}
            )
            assert await data(f, "GET", f"/v1/callouts/{one}") == changed
            changed = await data(
                f, "PUT", f"/v1/callouts/{one}", json={"metadata": {"b": 2}, "priority": "low"}
            )
            assert changed["metadata"] == {"a": 1, "b": 2}
            assert await data(c, "GET", f"/v1/callouts/{one}") == changed
            assert await data(f, "PUT", f"/v1/callouts/{two}", json={"metadata": {}})

            body = {
                "invoice_id": hot.post_invoices[0],
                "scheduled_time": "2030-01-02T03:04:05Z",
                "priority": "low",
                "actions": {"voice_agent_id": tenant.agent_id},
                "metadata": {"n": 1},
            }
            made = await data(f, "POST", "/v1/callouts", json=body)
            assert made["scheduled_time"] == "2030-01-02T03:04:05Z"
            assert await data(c, "GET", f"/v1/callouts/{made['id']}") == made
            made = await data(c, "POST", "/v1/callouts", json=body)
            assert await data(f, "GET", f"/v1/callouts/{made['id']}") == made

            # Refusals as the API's: no key, no such callout, bad bodies.
            refused: list[tuple[str, str, dict[str, Any]]] = [
                ("GET", f"/v1/callouts/{one}", {"headers": {"Authorization": ""}}),
                ("GET", "/v1/callouts/callout_missing", {}),
                ("PUT", f"/v1/callouts/{two}", {"content": b"{"}),
                ("PUT", f"/v1/callouts/{two}", {"json": [1]}),
                ("PUT", f"/v1/callouts/{two}", {"json": {"metadata": []}}),
                ("PUT", f"/v1/callouts/{two}", {"json": {"priority": "soon"}}),
            ]
            for method, path, kw in refused:
                ours, theirs = (
                    await f.request(method, path, **kw),
                    await c.request(method, path, **kw),
                )
                assert (ours.status_code, ours.json()["error"]["code"]) == (
                    theirs.status_code,
                    theirs.json()["error"]["code"],
                ), (method, path, kw)
    finally:
        await floor_app.state.store.close()


def test_the_floor_and_credira_read_each_others_writes(database: Database) -> None:
    tenant = seed.create_tenant(database)
    later = datetime.now(UTC) + timedelta(days=30)
    invoice, other = (seed.invoice_row(tenant.account_id, n, "America/New_York") for n in (1, 2))
    callouts = [
        seed.callout_row(invoice, tenant.agent_id, status=CalloutStatus.SCHEDULED, scheduled=later)
        for _ in range(3)
    ]
    seed.write_invoices_callouts(database, [([invoice, other], callouts)])
    hot = api.Hot([c["id"] for c in callouts], [invoice["id"]], [other["id"]])
    asyncio.run(_exchange(database, tenant, hot))
