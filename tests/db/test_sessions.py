"""Sessions and pooled connections: writers in one process take turns (in arrival order on
SQLite) and all commit, a failed write session hands the turn on, and a connection that died
while idle in the pool is replaced before anyone uses it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from credira.config import Settings
from credira.db import engine as engine_module
from credira.db.engine import create_engine, create_sessionmaker
from tests.conftest import PG_URL


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "data")


async def _counter_table(url: str, tmp_path: Path) -> None:
    engine = create_engine(_settings(url, tmp_path))
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        await conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    await engine.dispose()


async def test_concurrent_writers_all_commit(empty_url: str, tmp_path: Path) -> None:
    await _counter_table(empty_url, tmp_path)
    engine = create_engine(_settings(empty_url, tmp_path))
    sessions = create_sessionmaker(engine)

    async def add_one() -> None:
        async with sessions() as session:
            n = await session.scalar(text("SELECT n FROM counter WHERE id = 1"))
            await asyncio.sleep(0)  # let the others run while this transaction is open
            await session.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
            assert n is not None
            await session.commit()

    try:
        await asyncio.gather(*(add_one() for _ in range(60)))
        async with sessions() as session:
            assert await session.scalar(text("SELECT n FROM counter WHERE id = 1")) == 60
    finally:
        await engine.dispose()


async def test_a_failed_write_session_lets_the_next_one_in(empty_url: str, tmp_path: Path) -> None:
    await _counter_table(empty_url, tmp_path)
    engine = create_engine(_settings(empty_url, tmp_path))
    sessions = create_sessionmaker(engine)
    reads = create_sessionmaker(engine, write=False)

    async def fail_midway() -> None:
        async with sessions() as session:
            await session.execute(text("UPDATE counter SET n = 7"))
            async with reads() as read:  # a read inside a write never waits (WAL)
                assert await read.scalar(text("SELECT n FROM counter")) == 0
            _ = 1 / 0

    try:
        async with asyncio.timeout(10):
            with pytest.raises(ZeroDivisionError):
                await fail_midway()
            async with sessions() as after:  # rolled back, and the turn was handed on
                assert await after.scalar(text("SELECT n FROM counter")) == 0
                await after.execute(text("UPDATE counter SET n = 5"))
                await after.commit()
            async with reads() as read:
                assert await read.scalar(text("SELECT n FROM counter")) == 5
    finally:
        await engine.dispose()


async def test_sqlite_writers_take_turns_in_arrival_order(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    await _counter_table(url, tmp_path)
    engine = create_engine(_settings(url, tmp_path))
    sessions = create_sessionmaker(engine)
    order: list[int] = []
    release = asyncio.Event()

    async def first() -> None:
        async with sessions() as session:
            await session.execute(text("UPDATE counter SET n = n + 1"))
            await release.wait()
            await session.commit()

    async def writer(i: int) -> None:
        async with sessions() as session:
            order.append(i)
            await session.execute(text("UPDATE counter SET n = n + 1"))
            await session.commit()

    try:
        holder = asyncio.create_task(first())
        await asyncio.sleep(0.05)
        waiting = []
        for i in range(10):
            waiting.append(asyncio.create_task(writer(i)))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        assert order == []  # none of them began while the first held the write lock
        release.set()
        await asyncio.gather(holder, *waiting)
        assert order == list(range(10))
        async with sessions() as session:
            assert await session.scalar(text("SELECT n FROM counter")) == 11
    finally:
        await engine.dispose()


async def test_a_connection_that_died_idle_in_the_pool_is_replaced(
    empty_url: str, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite connections are files: nothing to lose while idle")
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 0.0)
    engine = create_engine(_settings(empty_url, tmp_path))
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(PG_URL)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        async with engine.connect() as conn:  # no error: the dead one failed its ping
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()


async def test_a_load_above_the_pool_size_waits_for_connections_and_opens_no_more(
    empty_url: str, tmp_path: Path, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("a SQLite connection is a file opened in-process")
    engine = create_engine(_settings(empty_url, tmp_path).model_copy(update={"db_pool_size": 4}))
    sessions = create_sessionmaker(engine, write=False)
    backends: set[int] = set()

    async def query() -> None:
        async with sessions() as session:
            backends.add(int(await session.scalar(text("SELECT pg_backend_pid()")) or 0))
            await asyncio.sleep(0.01)  # held a moment, as a transaction is

    try:
        for _ in range(3):  # waves of three times the pool size, each returned before the next
            await asyncio.gather(*(query() for _ in range(12)))
        # Four server connections served all of it: none was opened for a wave and closed.
        assert len(backends) == 4
    finally:
        await engine.dispose()
