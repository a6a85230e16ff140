"""SQLite under many concurrent writers: API requests, the embedded worker and a separate
``credira worker`` process on one database file. SQLite has one writer at a time; the others
must wait for it (busy timeout, ``BEGIN IMMEDIATE``), never fail: no client ever sees a 5xx or
"database is locked".
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from credira.app import create_app
from credira.config import Settings
from tests.support import ADMIN_KEY, Api, Tenant, eventually, zone_in_calling_hours
from tests.worker.test_processes import start_worker, stop

CONCURRENT = 200
FINAL = ("completed", "failed", "cancelled")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=True,
        worker_poll_seconds=0.05,
        simulator_time_scale=0.05,
        # The storm comes from one key: rate limits would answer 429 before SQLite is reached.
        rate_limit_per_key="",
        rate_limit_per_account="",
    )


@pytest.fixture
def other_worker(database_url: str, tmp_path: Path) -> Iterator[Path]:
    """A ``credira worker`` process on the same file; yields its log."""
    process = start_worker(
        database_url,
        tmp_path,
        "other",
        CREDIRA_SIMULATOR_TIME_SCALE="0.05",
        CREDIRA_WORKER_POLL_SECONDS="0.05",
        CREDIRA_LOG_LEVEL="info",
    )
    try:
        yield tmp_path / "other.log"
    finally:
        stop(process)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as http:
            yield http


def _invoice(n: int, zone: str) -> dict[str, Any]:
    return {
        "number": f"INV-STORM-{n}",
        "amount": "100.00",
        "currency": "USD",
        "due_date": "2024-01-30",
        "customer": {
            "name": f"Debtor {n}",
            "email": f"debtor{n}@example.com",
            "phone": f"+1415{n:05d}00",  # ends in 00: the debtor answers
            "timezone": zone,
        },
    }


async def test_concurrent_writers_on_sqlite_never_reach_a_client_as_an_error(
    client: httpx.AsyncClient, other_worker: Path
) -> None:
    zone = zone_in_calling_hours()
    tenant = await Api(client).tenant()
    agent = await tenant.agent()
    invoices = [
        (await tenant.ok("POST", "/v1/invoices", json=_invoice(n, zone)))["data"] for n in range(50)
    ]
    later = [
        (
            await tenant.ok(
                "POST",
                "/v1/callouts",
                json={
                    "invoice_id": invoice["id"],
                    "scheduled_time": "2030-01-20T10:00:00Z",
                    "actions": {"calls_enabled": True, "voice_agent_id": agent["id"]},
                },
            )
        )["data"]
        for invoice in invoices[:10]
    ]
    # One due callout per invoice: a second one would wait out the week after a conversation.
    fresh = iter(invoices[10:])
    rng = random.Random(6)

    def storm(n: int) -> tuple[str, str, dict[str, Any] | None]:
        """Request ``n`` of the storm: writes of every kind the API has, and reads."""
        invoice = invoices[n % 10]
        kind = n % 5
        if kind == 0:
            return "POST", "/v1/invoices", _invoice(1000 + n, zone)
        if kind == 1:  # due now: the workers run it while the storm goes on
            due = {"calls_enabled": True, "emails_enabled": True, "voice_agent_id": agent["id"]}
            return "POST", "/v1/callouts", {"invoice_id": next(fresh)["id"], "actions": due}
        if kind == 2:
            callout = rng.choice(later)
            return "PUT", f"/v1/callouts/{callout['id']}", {"metadata": {"n": n}}
        if kind == 3:
            return "PUT", f"/v1/invoices/{invoice['id']}", {"metadata": {"n": n}}
        return "GET", "/v1/callouts", None

    requests = [storm(n) for n in range(CONCURRENT)]
    rng.shuffle(requests)

    async def send(method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        params = {"invoice_id": invoices[0]["id"]} if method == "GET" else None
        return await tenant.request(method, path, json=body, params=params)

    replies = await asyncio.gather(*(send(*request) for request in requests))

    failures = [
        (method, path, reply.status_code, reply.text[:300])
        for (method, path, _), reply in zip(requests, replies, strict=True)
        if reply.status_code >= 500 or "locked" in reply.text.lower()
    ]
    assert failures == []
    assert sorted({r.status_code for r in replies}) == [200, 201], [
        r.text for r in replies if r.status_code not in (200, 201)
    ]
    await _due_callouts_finish(tenant, [i["id"] for i in invoices])
    assert "database is locked" not in await asyncio.to_thread(other_worker.read_text)


async def _due_callouts_finish(tenant: Tenant, invoice_ids: list[str]) -> None:
    """The workers ran every callout due now, writing all along."""

    async def done() -> bool:
        for invoice_id in invoice_ids:
            listed = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice_id})
            for callout in listed["data"]:
                if callout["status"] not in FINAL and callout["scheduled_time"] < "2030":
                    return False
        return True

    await eventually(done, within=60, interval=0.5)
