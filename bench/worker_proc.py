"""A Credira worker process with a timing hook, for the worker benchmark.

It is ``credira worker`` (the same wiring from the environment's settings,
``credira.wiring.build_worker``, and the same event loop and heap tuning) plus one wrapper, in this
bench-only code: every return of ``credira.worker.repository.claim_due`` is stamped with the
wall-clock time, right after the claiming transaction committed. On SIGTERM the worker stops as it
always does, then the stamps are written to ``--out`` as JSON ``{"ids": [...], "claimed": [...],
"statements": n, "runs": [...], "batches": {...}}`` (the number of SQL statements the process
sent, counted with a SQLAlchemy event; the stage timings below).

Where a callout's time goes, from outside the worker's code: each run (``Executor.run``) is
timed as a whole, and within it the dialling and following of the call (``_dial_and_follow``)
and the classification of its transcript (``_analyse``); ``runs`` holds ``[ended, total, dial,
analyse]`` per run (wall-clock end, seconds). What is left of a run is deciding and concluding:
waiting for, and taking part in, the transactions its batch shares. ``batches`` holds
``[ended, size, seconds]`` per deciding and per concluding transaction.

``--noop`` replaces a claimed callout's run (rules, dialling, the simulator, the outcome) with
marking it completed, the like-for-like comparison with a job queue running no-op jobs. The
completions are written as a real run's outcomes are: concurrent ones share a transaction
(``GroupCommit``), as the peer queue acknowledges its jobs in batches.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import signal
import time
from typing import Any

from sqlalchemy import event, update

from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.kit import process
from credira.kit.batch import GroupCommit
from credira.kit.clock import SystemClock
from credira.kit.process import settle_heap
from credira.logging import configure
from credira.models import Callout
from credira.wiring import build_worker, voice_providers
from credira.worker import repository
from credira.worker.execute import Executor
from credira.worker.repository import Claimed

ids: list[str] = []
claimed_at: list[float] = []
statements = [0]
runs: list[tuple[float, float, float, float]] = []
batches: dict[str, list[tuple[float, int, float]]] = {"decide": [], "conclude": []}
_spent: contextvars.ContextVar[dict[str, float]] = contextvars.ContextVar("spent")


def install_hook() -> None:
    original = repository.claim_due

    async def stamped(*args: Any, **kwargs: Any) -> list[Claimed]:
        rows = await original(*args, **kwargs)
        now = time.time()
        for row in rows:
            ids.append(row.callout_id)
            claimed_at.append(now)
        return rows

    repository.claim_due = stamped  # type: ignore[assignment]


def install_stages() -> None:
    run, dial, analyse = Executor.run, Executor._dial_and_follow, Executor._analyse

    async def timed_run(self: Executor, claimed: Claimed) -> None:
        spent = {"dial": 0.0, "analyse": 0.0}
        _spent.set(spent)  # each run is a task of its own: its context is its own
        began = time.perf_counter()
        await run(self, claimed)
        runs.append((time.time(), time.perf_counter() - began, spent["dial"], spent["analyse"]))

    def within(name: str, method: Any) -> Any:
        async def timed(self: Executor, *args: Any) -> Any:
            began = time.perf_counter()
            try:
                return await method(self, *args)
            finally:
                _spent.get()[name] += time.perf_counter() - began

        return timed

    def batch(name: str, method: Any) -> Any:
        async def timed(self: Executor, items: list[Any]) -> Any:
            began = time.perf_counter()
            done = await method(self, items)
            batches[name].append((time.time(), len(items), time.perf_counter() - began))
            return done

        return timed

    Executor.run = timed_run  # type: ignore[method-assign]
    Executor._dial_and_follow = within("dial", dial)  # type: ignore[method-assign]
    Executor._analyse = within("analyse", analyse)  # type: ignore[method-assign]
    Executor._decide_many = batch("decide", Executor._decide_many)  # type: ignore[method-assign]
    Executor._conclude_many = batch("conclude", Executor._conclude_many)  # type: ignore[method-assign]


def install_noop() -> None:
    completing: dict[int, GroupCommit[str, None]] = {}

    async def complete(self: Executor, callout_ids: list[str]) -> list[None]:
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

    async def run(self: Executor, claimed: Claimed) -> None:
        group = completing.get(id(self))
        if group is None:
            group = completing[id(self)] = GroupCommit(lambda ids: complete(self, ids))
        await group.submit(claimed.callout_id)

    Executor.run = run  # type: ignore[method-assign]


async def main_async() -> None:
    settings = Settings()
    configure(settings.log_level, json=settings.log_json)
    engine = create_engine(settings)

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    sessions = create_sessionmaker(engine)
    reads = create_sessionmaker(engine, write=False)
    clock = SystemClock()
    voice = voice_providers(settings, sessions, reads, clock)
    runner = build_worker(settings, sessions, reads, clock, voice)
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("worker ready", flush=True)
    try:
        await runner.run(stop)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--noop", action="store_true")
    args = parser.parse_args()
    install_hook()
    if args.noop:
        install_noop()
    else:
        install_stages()
    try:
        process.run(main_async())
    finally:
        with open(args.out, "w") as f:
            json.dump(
                {
                    "ids": ids,
                    "claimed": claimed_at,
                    "statements": statements[0],
                    "runs": runs,
                    "batches": batches,
                },
                f,
            )


if __name__ == "__main__":
    main()
