"""A worker SIGKILLed in the middle of concluding calls, on purpose rather than at random (the
chaos run, test_chaos.py, hits it by chance): its transaction has written the calls' results,
the dispute's effect on the invoice and the callouts' ends, and waits to write their events
when the process dies. Another worker takes the callouts over; each callout, call and invoice
must then show its end exactly once in the event log.

The conclusion is stopped at its last step by holding ``events`` in SHARE mode, which lets
readers through and makes every insert wait: the kill then lands with all of the
transaction's changes made and none committed.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from credira.models import Call, Callout, Event, Invoice
from tests.chaos.harness import terminal_event_problems
from tests.support import zone_in_calling_hours
from tests.worker.seeding import seed_due_callouts
from tests.worker.test_processes import start_worker, stop

CALLOUTS = 6
# Calls ring from 0.4 s and are answered from 1.2 s to 3.2 s: time to see every one of them in
# progress (their progress written) before holding the event log, so that the only writes
# the hold can catch are the conclusions.
WORKER = {
    "CREDIRA_SIMULATOR_TIME_SCALE": "2.0",
    "CREDIRA_WORKER_LEASE_SECONDS": "2",
    "CREDIRA_WORKER_POLL_SECONDS": "0.05",
    "CREDIRA_WORKER_ANALYSIS_PROCESSES": "0",
}
# Backends waiting to append events while their transaction has updated callouts: a
# conclusion (nothing else updates callouts once every call is in progress).
_CONCLUSIONS_WAITING = """
    SELECT count(DISTINCT waiting.pid) FROM pg_locks waiting
    JOIN pg_locks holding ON holding.pid = waiting.pid
    WHERE NOT waiting.granted AND waiting.relation = 'events'::regclass
      AND holding.granted AND holding.relation = 'callouts'::regclass
      AND holding.mode = 'RowExclusiveLock'
"""


@pytest.fixture
def pg(backend: str, database_url: str) -> str:
    if backend != "postgresql":
        pytest.skip("worker processes are killed against one PostgreSQL database")
    return database_url


async def _until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not {what} within {within} s"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_while_concluding_leaves_one_end_per_object(
    pg: str, tmp_path: Path
) -> None:
    # Ends in 06: each debtor disputes, so concluding also marks the invoice disputed.
    await seed_due_callouts(pg, CALLOUTS, zone=zone_in_calling_hours(), digits="06")
    engine = create_async_engine(pg)
    blocker = await asyncpg.connect(pg.replace("postgresql+asyncpg://", "postgresql://"))
    victim = start_worker(pg, tmp_path, "victim", **WORKER)
    try:

        async def all_in_progress() -> bool:
            async with engine.connect() as conn:
                statuses = (await conn.execute(select(Call.status))).scalars().all()
            return len(statuses) == CALLOUTS and set(statuses) == {"in_progress"}

        await _until(all_in_progress, 20, "every call in progress")
        hold = blocker.transaction()
        await hold.start()
        await blocker.execute("LOCK TABLE events IN SHARE MODE")

        async def concluding() -> bool:
            return bool(await blocker.fetchval(_CONCLUSIONS_WAITING))

        await _until(concluding, 15, "a conclusion waiting")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        await hold.rollback()
    finally:
        stop(victim)
        await blocker.close()

    async with engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(Callout).where(Callout.status == "active")
        )
    assert left, "the kill came after every conclusion committed"

    heir = start_worker(pg, tmp_path, "heir", **WORKER)
    try:

        async def all_completed() -> bool:
            async with engine.connect() as conn:
                done = await conn.scalar(
                    select(func.count()).select_from(Callout).where(Callout.status == "completed")
                )
            return done == CALLOUTS

        await _until(all_completed, 20, "every callout completed by the heir")
    finally:
        stop(heir)

    try:
        async with engine.connect() as conn:
            assert await terminal_event_problems(conn) == []
            invoices = (await conn.execute(select(Invoice.status))).scalars().all()
            assert invoices == ["disputed"] * CALLOUTS
            disputes = Counter(
                (
                    await conn.execute(
                        select(Event.object_id).where(Event.type == "invoice.disputed")
                    )
                )
                .scalars()
                .all()
            )
            assert sorted(disputes.values()) == [1] * CALLOUTS
            calls = (await conn.execute(select(Call.outcome))).scalars().all()
            assert calls == ["dispute"] * CALLOUTS  # one call each: none dialled again
    finally:
        await engine.dispose()
    assert "Traceback" not in (tmp_path / "heir.log").read_text()
