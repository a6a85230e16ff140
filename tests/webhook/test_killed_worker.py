"""A worker process SIGKILLed between two attempts of a delivery loses no event: another
worker attempts it again (same webhook-id) and delivers it, and delivers the event made
while no worker ran."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from credira.config import Settings
from credira.event.log import record
from credira.event.types import EventType
from tests.support import ADMIN_KEY, Api, eventually
from tests.webhook.receiver import Receiver, Reply
from tests.webhook.test_delivery import deliveries, subscribe, verified
from tests.worker.test_processes import start_worker, stop

KEY = Fernet.generate_key().decode()
WORKER = {
    "CREDIRA_ENCRYPTION_KEY": KEY,  # the API's: each process must open the secrets
    "CREDIRA_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    "CREDIRA_WEBHOOK_RETRY_SECONDS": "1,1,1,1",
    "CREDIRA_WEBHOOK_TIMEOUT_SECONDS": "2",
    "CREDIRA_WORKER_POLL_SECONDS": "0.05",
    "CREDIRA_WORKER_ANALYSIS_PROCESSES": "0",
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The API alone: the deliveries are the worker processes' work.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=False,
        encryption_key=KEY,
        webhook_allow_networks="127.0.0.0/8",
    )


async def test_sigkill_between_attempts_loses_no_event(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    tenant = await api.tenant()

    def script(n: int) -> Reply:
        return Reply(500, body=b"not yet") if n < 2 else Reply(200)

    async with Receiver(script) as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.created")
        first = await tenant.invoice()
        worker = start_worker(database_url, tmp_path, "w1", **WORKER)
        try:

            async def one_attempt_written() -> bool:
                found = await deliveries(tenant, hook["id"])
                return bool(found) and found[0]["attempt_count"] == 1

            await eventually(one_attempt_written, within=20)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            stop(worker)
        # Made while no worker runs: its event waits in the log.
        second = await tenant.invoice()
        worker = start_worker(database_url, tmp_path, "w2", **WORKER)
        try:

            async def both_delivered() -> list[dict[str, Any]] | None:
                found = await deliveries(tenant, hook["id"])
                done = [d for d in found if d["status"] == "delivered"]
                return found if len(done) == 2 else None

            found = await eventually(both_delivered, within=30)
        finally:
            stop(worker)

    by_object = {d["object_id"]: d for d in found}
    retried = by_object[first["id"]]
    # An attempt the killed worker made but had not written yet is made again: the log
    # shows the 500s written and the 200; the receiver saw the event at least three times.
    codes = [a["status_code"] for a in retried["attempts"]]
    assert codes[0] == 500
    assert codes[-1] == 200
    assert set(codes[:-1]) == {500}
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids.count(retried["event_id"]) == 3
    assert ids.count(by_object[second["id"]]["event_id"]) == 1
    objects = [verified(hook["secret"], r)["data"]["object_id"] for r in receiver.received]
    assert sorted(objects) == sorted([first["id"]] * 3 + [second["id"]])
    assert "Traceback" not in (tmp_path / "w2.log").read_text()
    assert json.loads(receiver.received[-1].body)["type"] == "invoice.created"


async def test_two_workers_deliver_each_event_once(
    app: FastAPI, api: Api, backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("several worker processes share one PostgreSQL database")
    tenant = await api.tenant()
    async with Receiver() as receiver:
        hook = await subscribe(tenant, receiver.url, "invoice.*")
        workers = [start_worker(database_url, tmp_path, f"p{i}", **WORKER) for i in range(2)]
        try:
            # Events committed in many transactions while both workers fan out and claim.
            now = datetime.now(UTC)
            for batch in range(30):
                async with app.state.runtime.sessionmaker() as session:
                    for n in range(10):
                        record(
                            session,
                            EventType.INVOICE_UPDATED,
                            account_id=tenant.account_id,
                            object_id=f"inv_{batch:03d}{n:03d}",
                            data={"n": n},
                            now=now,
                        )
                    await session.commit()

            async def all_received() -> bool:
                return len(receiver.received) >= 300

            await eventually(all_received, within=30)
            await asyncio.sleep(0.5)  # time for a second copy to show, were one sent
        finally:
            stop(*workers)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 300
    found = await tenant.ok("GET", f"/v1/webhooks/{hook['id']}/deliveries", params={"limit": 1})
    assert found["meta"]["total_deliveries"] == 300
    for i in range(2):
        assert "Traceback" not in (tmp_path / f"p{i}.log").read_text()
