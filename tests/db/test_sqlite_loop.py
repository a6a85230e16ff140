"""SQLite on the event loop (credira.db.sqlite_loop): a statement that finds the database
locked by another connection waits without holding the loop, goes on once the lock is free,
and gives up after its patience with SQLite's own "database is locked"."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from credira.config import Settings
from credira.db import sqlite_loop
from credira.db.engine import create_engine, create_sessionmaker


def _holder(path: Path, held: threading.Event, release: threading.Event) -> None:
    """Another writer (as another process would be): takes the write lock and keeps it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (1)")
        held.set()
        release.wait(10)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def _table(settings: Settings) -> None:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    await engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}", data_dir=tmp_path / "data"
    )


async def test_a_locked_write_waits_off_the_loop_then_commits(
    settings: Settings, tmp_path: Path
) -> None:
    await _table(settings)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holder, args=(tmp_path / "loop.db", held, release))
    holder.start()
    await asyncio.to_thread(held.wait, 5)
    engine = create_engine(settings)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while not release.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with create_sessionmaker(engine)() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
            await session.commit()

    async def let_go() -> None:
        await asyncio.sleep(0.4)
        release.set()

    try:
        await asyncio.gather(tick(), write(), let_go())
    finally:
        release.set()
        holder.join()
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
    await engine.dispose()
    assert rows == [1, 2]
    # The loop kept turning while the write waited for the lock (it would not have, had the
    # wait been SQLite's busy handler on the loop's thread).
    assert ticks >= 10, ticks


async def test_a_write_gives_up_after_its_patience(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _table(settings)
    monkeypatch.setattr(sqlite_loop, "BUSY_PATIENCE", 0.3)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holder, args=(tmp_path / "loop.db", held, release))
    holder.start()
    await asyncio.to_thread(held.wait, 5)
    engine = create_engine(settings)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with create_sessionmaker(engine)() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        release.set()
        holder.join()
        await engine.dispose()
