"""CPU time of the worker's two shared transactions, per callout, measured in one process with
nothing else running: deciding (the rules, the daily cap, the attempt written ahead) and
concluding (the call's result, its outcome's effects on the callout and the invoice).

Throughput on a shared host swings by a third within seconds, which hides a change worth 10 %.
The CPU time these transactions cost the process (its event loop and, on SQLite, the driver's
thread) moves less, about a tenth, so this is how a change to either is measured: run this on
both versions, in turn, a few times each, and compare the medians.

Each round seeds a fresh database with ``--callouts`` due callouts (one invoice each), claims
them 50 at a time as the worker does, decides each batch, then concludes it as answered calls
with the simulator's "acknowledge" transcript (classified in this process, outside the timed
part). Dialling is left out: each attempt's result is made up at once.

    python -m bench.transactions [--db sqlite|postgresql|both] [--callouts 3000] [--rounds 3]

Prints one JSON line per database: the milliseconds of CPU per callout of each round, and
their medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import seed
from bench.dbs import Database, fresh_database, postgres_available
from bench.worker import _seed_callouts
from credira.channel.voice.port import ProviderCall
from credira.kit.process import settle_heap
from credira.wiring import assemble, build_executor
from credira.worker import repository
from credira.worker.execute import Ended

BATCH = 50  # the worker's transactions at its default concurrency (100 // 2)
WORKER_ID = "bench-transactions"
REPLY = "Debtor: Yes, I received the invoice. Thanks for the reminder.\nAgent: Goodbye."


async def _measure(db: Database) -> dict[str, float]:
    settings = seed.settings_for(db)
    parts = assemble(settings)
    sessions, clock = parts.sessionmaker, parts.clock
    executor = build_executor(settings, parts, WORKER_ID, batch_size=BATCH)
    settle_heap()  # as the worker process does before it starts
    deciding = concluding = 0.0
    callouts = 0
    try:
        while True:
            async with sessions() as session:
                batch = await repository.claim_due(
                    session, WORKER_ID, clock.now(), timedelta(minutes=5), BATCH
                )
            if not batch:
                break
            began = time.process_time()
            attempts = await executor.decide(batch)
            deciding += time.process_time() - began
            ended: list[Ended] = []
            for attempt in attempts:
                if attempt is None:
                    raise RuntimeError("a seeded callout was not allowed to dial; see the rules")
                now = clock.now()
                result = ProviderCall(
                    f"bench_{attempt.call_id}",
                    "completed",
                    answered_time=now,
                    ended_time=now,
                    duration=95,
                    transcript=f"Agent: {attempt.request.script}\n{REPLY}",
                    cost="0.10",
                    currency="USD",
                )
                analysis = await executor.analyse(attempt, result)
                ended.append(Ended(attempt, result, analysis, None))
            began = time.process_time()
            await executor.conclude(ended)
            concluding += time.process_time() - began
            callouts += len(batch)
    finally:
        await executor.close()
        await parts.engine.dispose()
    return {
        "decide_ms": 1000 * deciding / max(1, callouts),
        "conclude_ms": 1000 * concluding / max(1, callouts),
    }


def measure(kind: str, callouts: int, rounds: int) -> dict[str, Any]:
    each: list[dict[str, float]] = []
    for round_number in range(rounds):
        with fresh_database(kind, f"tx{round_number}") as db:
            tenant = seed.create_tenant(db)
            due = [datetime.now(UTC) - timedelta(seconds=1)] * callouts
            _seed_callouts(db, tenant, due, seed.zone_in_calling_hours(), 0)
            each.append(asyncio.run(_measure(db)))
    return {
        "db": kind,
        "callouts": callouts,
        "decide_ms": [round(r["decide_ms"], 3) for r in each],
        "conclude_ms": [round(r["conclude_ms"], 3) for r in each],
        "median_decide_ms": round(statistics.median(r["decide_ms"] for r in each), 3),
        "median_conclude_ms": round(statistics.median(r["conclude_ms"] for r in each), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--callouts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and (why := postgres_available()) is not None:
            print(json.dumps({"db": kind, "skipped": why}))
            continue
        print(json.dumps(measure(kind, args.callouts, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
