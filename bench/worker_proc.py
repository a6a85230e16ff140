"""A Credira worker process with a timing hook, for the worker benchmark.

It is ``credira worker`` (the same composition, ``credira.wiring.run_worker``, from the
environment's settings, with the same event loop and heap tuning) with an observer, the hook the
worker offers (``credira.worker.execute.Observer``): every claim is stamped with the wall-clock
time, right after the claiming transaction committed. On SIGTERM the worker stops as it always
does, then the stamps are written to ``--out`` as JSON ``{"ids": [...], "claimed": [...],
"statements": n, "by_statement": {...}, "runs": [...], "batches": {...}}`` (the number of SQL
statements the process sent, counted with a SQLAlchemy event, in all and by the first 90
characters of each statement's text; the stage timings below).

Where a callout's time goes, as the worker reports it: each run is timed as a whole, and within
it the dialling and following of the call (``dial``) and the classification of its transcript
(``analyse``); ``runs`` holds ``[ended, total, dial, analyse]`` per run (wall-clock end,
seconds). What is left of a run is deciding and concluding: waiting for, and taking part in, the
transactions its batch shares. ``batches`` holds ``[ended, size, seconds]`` per deciding and per
concluding transaction.

``--noop`` runs a claimed callout (rules, dialling, the simulator, the outcome) as marking it
completed, the like-for-like comparison with a job queue running no-op jobs: the worker's
executor is replaced by one that does only that. The completions are written as a real run's
outcomes are: concurrent ones share a transaction (``GroupCommit``), as the peer queue
acknowledges its jobs in batches.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.config import Settings
from credira.kit import process
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.logging import configure
from credira.models import Callout
from credira.wiring import Parts, run_worker
from credira.worker.repository import Claimed
from credira.worker.runner import Worker

ids: list[str] = []
claimed_at: list[float] = []
statements = [0]
by_statement: dict[str, int] = {}
runs: list[tuple[float, float, float, float]] = []
batches: dict[str, list[tuple[float, int, float]]] = {"decide": [], "conclude": []}


class Stamps:
    """The observer: what the worker tells of its claims, batches and runs, kept."""

    def on_claimed(self, callout_ids: Sequence[str]) -> None:
        now = time.time()
        for callout_id in callout_ids:
            ids.append(callout_id)
            claimed_at.append(now)

    def on_batch(self, stage: str, size: int, seconds: float) -> None:
        batches[stage].append((time.time(), size, seconds))

    def on_run(self, callout_id: str, seconds: float, stages: Mapping[str, float]) -> None:
        runs.append((time.time(), seconds, stages.get("dial", 0.0), stages.get("analyse", 0.0)))


class NoopRuns:
    """Runs a claimed callout as marking it completed, concurrent ones in one transaction."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, worker_id: str
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.worker_id = worker_id
        self._completing = GroupCommit(self._complete)

    async def _complete(self, callout_ids: list[str]) -> list[None]:
        now = self.clock.now()
        async with self.sessionmaker() as session:
            await session.execute(
                update(Callout)
                .where(Callout.id.in_(callout_ids), Callout.lease_owner == self.worker_id)
                .values(
                    status="completed",
                    completed_time=now,
                    updated_time=now,
                    lease_owner=None,
                    lease_expires=None,
                    version=Callout.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return [None] * len(callout_ids)

    async def run(self, claimed: Claimed) -> None:
        await self._completing.submit(claimed.callout_id)

    async def close(self, within: float = 10.0) -> None:
        await self._completing.close(within)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--noop", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    configure(settings.log_level, json=settings.log_json)

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements[0] += 1
        shape = " ".join(sql.split())[:90]
        by_statement[shape] = by_statement.get(shape, 0) + 1

    def started(worker: Worker, parts: Parts) -> None:
        event.listen(parts.engine.sync_engine, "before_cursor_execute", count)
        if args.noop:
            worker.executor = NoopRuns(parts.sessionmaker, parts.clock, worker.worker_id)
        print("worker ready", flush=True)

    try:
        process.run(run_worker(settings, observer=Stamps(), started=started))
    finally:
        with open(args.out, "w") as f:
            json.dump(
                {
                    "ids": ids,
                    "claimed": claimed_at,
                    "statements": statements[0],
                    "by_statement": by_statement,
                    "runs": runs,
                    "batches": batches,
                },
                f,
            )


if __name__ == "__main__":
    main()
