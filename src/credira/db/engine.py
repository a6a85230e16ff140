"""Engine and session factory, with SQLite set up for a concurrent service (WAL, busy wait)."""

from __future__ import annotations

import asyncio
import json
import time
from types import TracebackType
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, Pool, PoolProxiedConnection

from credira.config import Settings
from credira.db import sqlite_loop

WRITE_OPTION = "credira_write"


def json_text(value: Any) -> str:
    """JSON columns written by orjson (several times faster than the standard library, and
    every event's snapshot is one); what it refuses (an integer past 64 bits in metadata)
    falls back to the standard library, so nothing orjson lacks becomes an error."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _json_loads(text_: str | bytes) -> Any:
    return orjson.loads(text_)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver, so that _sqlite_begin decides how each
    # transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer writes; busy_timeout makes a writer wait for
    # the lock instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # No busy handler: it would sleep on the event loop's thread. A statement that finds the
    # database locked by another process is retried after an asyncio sleep instead
    # (credira.db.sqlite_loop), for as long as this handler used to wait.
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A write transaction takes SQLite's write lock when it begins (waiting up to busy_timeout),
    # instead of failing with "database is locked" when a read transaction later tries to write
    # after another writer committed. Readers still never wait (WAL).
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    url = url or settings.resolved_database_url
    # A database error's text carries the statement's parameters unless hidden, and those hold
    # key hashes (every key lookup) and debtors' personal data: errors are logged.
    private: dict[str, Any] = {
        "hide_parameters": True,
        "json_serializer": json_text,
        "json_deserializer": _json_loads,
    }
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(sqlite_loop.url_for(url), **private)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        **private,
        pool_size=settings.db_pool_size,
        # No overflow: the pool closes an overflow connection as soon as it is handed back, so
        # a load that swings around the pool size would connect (and fill each new connection's
        # statement cache) again and again.
        max_overflow=0,
    )
    event.listen(engine.sync_engine.pool, "checkin", _checked_in)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


# A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE = 2.0


def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """Ping a connection that sat idle in the pool before handing it out; one that fails is
    replaced (the pool retries the checkout with a new connection).

    ``pool_pre_ping`` pings at every checkout, three round trips on asyncpg (BEGIN, a query,
    ROLLBACK), which a busy service pays on every request and every worker step for
    connections it used a moment ago. A server restart is still met: connections idle past
    ``PING_AFTER_IDLE`` are checked, and the first disconnect error a busy connection meets
    invalidates the whole pool, so the ones after it reconnect.
    """
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


class _WriteGate:
    """One write session at a time, first come first served, for one SQLite database in one
    process and event loop.

    SQLite has one write lock per database. Writers that find it taken wait in its busy
    handler, which sleeps in growing steps (up to 100 ms) and wakes them in no order: under
    load most of the time is spent asleep with the lock free. Queueing the process's own
    writers here instead hands the lock on the moment it is released; the busy handler is
    left to arbitrate between processes only. A write session opened inside another in the
    same task passes the gate (waiting on itself would never end); SQLite's own lock then holds
    it back until the outer one ends, or fails it after ``busy_timeout`` as before the gate.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    async def enter(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


# By connection pool (one per engine, shared by its option variants) and event loop.
_gates: WeakKeyDictionary[Pool, WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteGate]] = (
    WeakKeyDictionary()
)


def _gate(pool: Pool) -> _WriteGate:
    by_loop = _gates.setdefault(pool, WeakKeyDictionary())
    return by_loop.setdefault(asyncio.get_running_loop(), _WriteGate())


class _SQLiteWriteSession(AsyncSession):
    """A write session on SQLite: holds its process's write gate while open."""

    _gate: _WriteGate | None = None

    async def __aenter__(self) -> _SQLiteWriteSession:
        gate = _gate(self.sync_session.get_bind().pool)  # type: ignore[union-attr]
        await gate.enter()
        self._gate = gate
        return self

    async def __aexit__(
        self,
        type_: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(type_, value, traceback)
        finally:
            gate, self._gate = self._gate, None
            if gate is not None:
                gate.leave()


def create_sessionmaker(
    engine: AsyncEngine, *, write: bool = True
) -> async_sessionmaker[AsyncSession]:
    """Sessions for writing (the default) or for reading only.

    On SQLite a write session begins ``IMMEDIATE`` and, used as ``async with``, waits its turn
    behind the process's other write sessions (see ``_WriteGate``); on PostgreSQL both kinds
    are the same.
    """
    bind = engine.execution_options(**{WRITE_OPTION: True}) if write else engine
    if write and is_sqlite(engine):
        return async_sessionmaker(
            bind, class_=_SQLiteWriteSession, expire_on_commit=False, autoflush=False
        )
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def ping(engine: AsyncEngine) -> None:
    """Return once the database answers a trivial query; raise what the driver raises."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
