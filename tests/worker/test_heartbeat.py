"""Leases are renewed even when every pooled connection is busy: the heartbeat has a connection
of its own, so a worker running many callouts never loses them to another worker merely for
waiting on its own pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.models import Callout
from credira.worker import repository
from tests.support import zone_in_calling_hours
from tests.worker.harness import Db, new_debt, open_db, until
from tests.worker.harness import worker as make_worker

LEASE = 2.0


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


async def _exhaust(engine: AsyncEngine, stack: AsyncExitStack) -> int:
    """Check out every connection the engine's pool will give, and hold them."""
    held = 0
    while True:
        try:
            connection = await asyncio.wait_for(engine.connect(), timeout=0.5)
        except TimeoutError:
            return held
        stack.push_async_callback(connection.close)
        held += 1
        if held >= 40:  # a pool with no limit: enough to show the point
            return held


async def test_leases_are_renewed_while_the_pool_is_exhausted(
    database_url: str, tmp_path: Path, db: Db
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", db_pool_size=1)
    pool = create_engine(settings)
    debt = await new_debt(db, zone=zone_in_calling_hours())
    callout = debt.callout()
    await db.add(callout)
    runner = make_worker(
        Db(pool, create_sessionmaker(pool), create_sessionmaker(pool, write=False)),
        time_scale=4.0,  # an answered call lasts several seconds
        lease_seconds=LEASE,
        heartbeat_engine=create_engine(settings),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:

        async def in_progress() -> bool:
            calls = await db.calls(callout_id=callout.id)
            return bool(calls) and calls[0].status == "in_progress"

        await until(in_progress, within=15)
        async with AsyncExitStack() as stack:
            assert await _exhaust(pool, stack) >= 1
            await asyncio.sleep(LEASE * 1.5)
            # Past the lease the worker started with, it still holds the callout.
            held = await db.get(Callout, callout.id)
            assert held.status == "active"
            assert held.lease_owner == runner.worker_id
            assert held.lease_expires is not None
            assert held.lease_expires > datetime.now(UTC)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
        await pool.dispose()


async def test_a_beat_passes_over_callouts_being_written_instead_of_waiting(db: Db) -> None:
    """A callout whose decision or outcome is being written is locked until that commits; the
    beat renews the others at once and leaves it to the next beat (waiting for it could
    deadlock with the writer, which locks its callouts in another order)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing is locked while a beat runs")
    debt = await new_debt(db, zone=zone_in_calling_hours())
    now = datetime.now(UTC)
    rows = [debt.callout(status="active", lease_owner="w1", lease_expires=now) for _ in range(3)]
    await db.add(*rows)
    later = now + timedelta(seconds=30)
    async with db.sessions() as writer:
        await writer.execute(
            select(Callout.id).where(Callout.id == rows[0].id).with_for_update(key_share=True)
        )
        async with db.sessions() as session:
            ids = [row.id for row in rows]
            renewed = await asyncio.wait_for(
                repository.renew_leases(session, "w1", ids, later), timeout=5
            )
        await writer.commit()
    assert renewed == 2
    leases = [(await db.get(Callout, row.id)).lease_expires for row in rows]
    assert leases == [now, later, later]
