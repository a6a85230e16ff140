"""What the event log costs: events appended per second in batched transactions, as the
worker appends them (a deciding or concluding transaction of 50 callouts appends about one
event per callout and call it changes), on each database.

Each round appends ``--events`` events in transactions of ``--batch``, each event's ``data``
a callout as the API shows it (about 600 bytes of JSON), through ``credira.event.log.record``
and the commit that writes them, and reports the events per second of wall time and the
microseconds of CPU per event. The same transactions without events (only the write they
would accompany: one account row touched) are measured in turn, so the event log's own share
is the difference.

    python -m bench.events [--db sqlite|postgresql|both] [--events 30000] [--batch 100]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from bench import seed
from bench.dbs import Database, fresh_database, postgres_available
from credira.db.engine import create_engine, create_sessionmaker
from credira.event.log import record
from credira.event.types import EventType
from credira.kit.ids import new_id
from credira.models import Account


def _snapshot(account_id: str, now: datetime) -> dict[str, Any]:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": new_id("callout"),
        "invoice_id": new_id("invoice"),
        "status": "completed",
        "type": "payment_reminder",
        "scheduled_time": stamp,
        "created_time": stamp,
        "updated_time": stamp,
        "target_contact": {"name": "John Doe", "email": "john@example.com", "phone": "+1415555"},
        "actions": {"calls_enabled": True, "emails_enabled": False, "voice_agent_id": None},
        "account_id": account_id,
        "priority": "medium",
        "metadata": {"campaign_id": "q1-2024"},
        "completed_time": stamp,
    }


async def _round(db: Database, account_id: str, events: int, batch: int, log: bool) -> None:
    """Append ``events`` in transactions of ``batch`` (or run the bare transactions)."""
    engine = create_engine(seed.settings_for(db))
    sessions = create_sessionmaker(engine)
    touch = update(Account).where(Account.id == account_id).values(name="Load Co")
    try:
        done = 0
        while done < events:
            async with sessions() as session:
                now = datetime.now(UTC)
                await session.execute(touch)
                if log:
                    for _ in range(min(batch, events - done)):
                        data = _snapshot(account_id, now)
                        record(
                            session,
                            EventType.CALLOUT_COMPLETED,
                            account_id=account_id,
                            object_id=data["id"],
                            invoice_id=data["invoice_id"],
                            callout_id=data["id"],
                            data=data,
                            now=now,
                        )
                await session.commit()
            done += batch
    finally:
        await engine.dispose()


def _timed(
    db: Database, account_id: str, events: int, batch: int, log: bool
) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(_round(db, account_id, events, batch, log))
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(kind: str, events: int, batch: int, rounds: int) -> dict[str, Any]:
    with fresh_database(kind, "events") as db:
        tenant = seed.create_tenant(db)
        with_log: list[tuple[float, float]] = []
        bare: list[tuple[float, float]] = []
        for _ in range(rounds):  # in turn, so that a slow spell hits both
            with_log.append(_timed(db, tenant.account_id, events, batch, True))
            bare.append(_timed(db, tenant.account_id, events, batch, False))
    cpu_us = [1e6 * (a[0] - b[0]) / events for a, b in zip(with_log, bare, strict=True)]
    per_second = [events / a[1] for a in with_log]
    return {
        "db": kind,
        "events": events,
        "batch": batch,
        "events_per_second": [round(r) for r in per_second],
        "median_events_per_second": round(statistics.median(per_second)),
        "event_cpu_us": [round(r, 1) for r in cpu_us],
        "median_event_cpu_us": round(statistics.median(cpu_us), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and (why := postgres_available()) is not None:
            print(json.dumps({"db": kind, "skipped": why}))
            continue
        print(json.dumps(measure(kind, args.events, args.batch, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
