"""What webhook delivery sustains: deliveries per second from one worker process's deliverer
to a local receiver, and the time from an event's commit to its arrival at the receiver
(p50, p99) at half that rate, on each database.

The receiver is a separate process (a bare asyncio HTTP/1.1 server answering 200 at once),
and so is the writer of the paced events, so the deliverer's process does only the
deliverer's work: fan-out from the event log, claiming, signing (Standard Webhooks), the POST
through the SSRF guard, and the group-committed attempts. The events are written as the
service writes them (``credira.event.log.record`` and a commit, ``--batch`` a transaction).

1. Throughput: ``--events`` events to ``--endpoints`` endpoints are written first, then the
   deliverer starts and the clock runs until the receiver has every delivery.
2. Latency: a fresh deliverer runs while the writer commits events at half the measured
   delivery rate for ``--seconds``; each arrival's time minus its event's commit time.

Target (issue 19): at least 500 deliveries a second per worker process, p99 under 1 s.

    python -m bench.webhooks [--quick] [--db sqlite|postgresql|both] [--events 10000]
        [--endpoints 2] [--seconds 10] [--batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import time
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from bench import seed
from bench.dbs import Database, fresh_database, postgres_available
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.event.log import record
from credira.event.types import EventType
from credira.kit.ids import new_id
from credira.secret.crypto import cipher_for
from credira.webhook import service
from credira.webhook.guard import Policy
from credira.webhook.schemas import WebhookCreate
from credira.wiring import assemble, build_deliverer

ALLOW = "127.0.0.0/8"


# -- the receiver (its own process) --------------------------------------------------------


class _Http(asyncio.Protocol):
    def __init__(self, arrivals: list[tuple[str, float]], count: Synchronized[int]) -> None:
        self.arrivals = arrivals
        self.count = count
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").lower()
            length, msg_id = 0, ""
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name == "content-length":
                    length = int(value)
                elif name == "webhook-id":
                    msg_id = value.strip()
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.arrivals.append((msg_id, time.time()))
            with self.count.get_lock():
                self.count.value += 1
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")


def _receive(port: Synchronized[int], count: Synchronized[int], stop: Any, out: str) -> None:
    arrivals: list[tuple[str, float]] = []

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Http(arrivals, count), "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        # A process-shared event, which asyncio cannot await: looked at every 50 ms.
        while not stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        server.close()

    asyncio.run(serve())
    Path(out).write_text(json.dumps(arrivals))


# -- writing events --------------------------------------------------------------------------


async def _write_events(
    settings: Settings, account_id: str, total: int, batch: int, rate: float | None
) -> dict[str, float]:
    """``total`` events in transactions of ``batch`` (at ``rate`` a second when given); the
    commit time of each."""
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    committed: dict[str, float] = {}
    began = time.perf_counter()
    try:
        done = 0
        while done < total:
            if rate is not None:
                await asyncio.sleep(max(0.0, began + done / rate - time.perf_counter()))
            async with sessions() as session:
                now = datetime.now(UTC)
                ids = []
                for _ in range(min(batch, total - done)):
                    invoice_id = new_id("invoice")
                    data = {"id": invoice_id, "number": "INV-1", "amount": "1250.00"}
                    ids.append(
                        record(
                            session,
                            EventType.INVOICE_UPDATED,
                            account_id=account_id,
                            object_id=invoice_id,
                            invoice_id=invoice_id,
                            data=data,
                            now=now,
                        )
                    )
                await session.commit()
            stamp = time.time()
            committed.update(dict.fromkeys(ids, stamp))
            done += len(ids)
    finally:
        await engine.dispose()
    return committed


def _paced_writer(
    settings: Settings, account_id: str, total: int, batch: int, rate: float, out: str
) -> None:
    committed = asyncio.run(_write_events(settings, account_id, total, batch, rate))
    Path(out).write_text(json.dumps(committed))


# -- the deliverer under test ---------------------------------------------------------------


async def _endpoints(settings: Settings, account_id: str, url: str, count: int) -> None:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            for _ in range(count):
                body = WebhookCreate(url=url, event_types=["invoice.*"])
                await service.create(
                    session,
                    account_id,
                    body,
                    cipher_for(settings),
                    Policy(ALLOW),
                    datetime.now(UTC),
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _deliver_until(settings: Settings, count: Synchronized[int], expected: int) -> float:
    """Run one deliverer until the receiver has ``expected`` deliveries; the seconds it took."""
    parts = assemble(settings)
    deliverer = build_deliverer(settings, parts, "bench-webhooks")
    stop = asyncio.Event()
    began = time.perf_counter()
    task = asyncio.create_task(deliverer.run(stop))
    try:
        while count.value < expected:
            if task.done():
                task.result()
                raise RuntimeError("the deliverer stopped")
            await asyncio.sleep(0.005)
        return time.perf_counter() - began
    finally:
        stop.set()
        await task
        await parts.engine.dispose()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    db: Database, events: int, endpoints: int, seconds: float, batch: int, **overrides: Any
) -> dict[str, Any]:
    settings = seed.settings_for(
        db,
        webhook_allow_networks=ALLOW,
        encryption_key=None,
        log_level="warning",
        **overrides,
    )
    tenant = seed.create_tenant(db)
    ctx = mp.get_context("spawn")
    port, count, stop = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Event()
    arrivals_file = str(db.data_dir / "arrivals.json")
    receiver = ctx.Process(target=_receive, args=(port, count, stop, arrivals_file))
    receiver.start()
    try:
        while port.value == 0:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port.value}/hook"
        asyncio.run(_endpoints(settings, tenant.account_id, url, endpoints))

        # 1. Throughput: a backlog, then the deliverer against the clock.
        asyncio.run(_write_events(settings, tenant.account_id, events, batch, None))
        cpu = time.process_time()
        took = asyncio.run(_deliver_until(settings, count, events * endpoints))
        cpu_us = 1e6 * (time.process_time() - cpu) / (events * endpoints)
        rate = events * endpoints / took

        # 2. Latency at half that rate (events a second: deliveries / endpoints).
        paced = rate / 2 / endpoints
        total = max(batch, int(paced * seconds))
        commits_file = str(db.data_dir / "commits.json")
        before = count.value
        writer = ctx.Process(
            target=_paced_writer,
            args=(
                settings,
                tenant.account_id,
                total,
                max(1, min(batch, int(paced / 50))),
                paced,
                commits_file,
            ),
        )
        writer.start()
        asyncio.run(_deliver_until(settings, count, before + total * endpoints))
        writer.join()
    finally:
        stop.set()
        receiver.join()
    committed: dict[str, float] = json.loads(Path(commits_file).read_text())
    arrivals = json.loads(Path(arrivals_file).read_text())
    latencies = [1000 * (at - committed[i]) for i, at in arrivals if i in committed]
    return {
        "db": db.kind,
        "endpoints": endpoints,
        "deliveries": events * endpoints,
        "deliveries_per_second": round(rate),
        # The deliverer's CPU per delivery: what the rate would be on a core of its own.
        "cpu_us_per_delivery": round(cpu_us),
        "paced_deliveries_per_second": round(paced * endpoints),
        "paced_deliveries": len(latencies),
        "commit_to_delivery_p50_ms": round(statistics.median(latencies), 1),
        "commit_to_delivery_p99_ms": round(_percentile(latencies, 0.99), 1),
        "target": ">= 500 deliveries/s per worker process, p99 < 1000 ms",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 20 s a db)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    events = args.events or (2_000 if args.quick else 10_000)
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and (why := postgres_available()) is not None:
            print(json.dumps({"db": kind, "skipped": why}))
            continue
        with fresh_database(kind, "webhooks") as db:
            result = measure(db, events, args.endpoints, seconds, args.batch)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
