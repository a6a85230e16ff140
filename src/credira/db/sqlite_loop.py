"""SQLite for the async engine, run on the event loop: no thread hop per statement.

``aiosqlite`` runs each connection in a thread of its own and hands every call to it through a
queue: a statement costs two thread switches, a wake-up of the event loop and a turn at the
interpreter lock, several times what SQLite takes for a short read or write. Credira's
statements are short (reads by key or by index range, small batched writes) and SQLite runs in
the process, so here they run where SQLAlchemy calls them, on the loop's thread.

What makes that safe is waiting: a statement that finds the database locked by another process
(``SQLITE_BUSY``) is not left to SQLite's busy handler, which would sleep on the loop's thread,
but retried after an ``asyncio`` sleep (SQLAlchemy's ``await_``), so the loop serves other work
meanwhile, up to the same patience as before (``BUSY_PATIENCE``). Within one process writers
already queue at the write gate (``credira.db.engine``) before they begin.

The dialect is SQLAlchemy's own ``pysqlite`` one (same types, same SQL), marked async and given
an async-adapted pool; the driver is the standard library's ``sqlite3``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.util.concurrency import await_, in_greenlet

# How long a statement waits for another process's write lock before it fails ("database is
# locked"), as SQLite's busy_timeout did.
BUSY_PATIENCE = 15.0
_FIRST_WAIT, _MAX_WAIT = 0.001, 0.05
# Plain SQLITE_BUSY and SQLITE_BUSY_RECOVERY: the statement did nothing and may be run again.
# Not SQLITE_BUSY_SNAPSHOT (517): a read transaction that may no longer write, which waiting
# cannot mend.
_RETRYABLE = frozenset({5, 261})

T = TypeVar("T")


async def _nothing() -> None:
    return None


def _retrying(run: Callable[[], T]) -> T:
    if in_greenlet():
        # SQLAlchemy's AsyncConnection checks that a statement went through the event loop's
        # side (an async driver always does): one switch there and straight back, no loop turn.
        await_(_nothing())
    deadline = time.monotonic() + BUSY_PATIENCE
    wait = _FIRST_WAIT
    while True:
        try:
            return run()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _RETRYABLE:
                raise
            if time.monotonic() + wait > deadline:
                raise
        if in_greenlet():
            await_(asyncio.sleep(wait))
        else:  # a synchronous caller (run_sync's own thread has none): nothing else to serve
            time.sleep(wait)
        wait = min(wait * 2, _MAX_WAIT)


class Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        _retrying(lambda: super(Cursor, self).execute(sql, parameters))
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Cursor:
        # sqlite3 takes an iterable it may consume once: keep it, so a retry sends it again.
        rows = list(seq_of_parameters)
        _retrying(lambda: super(Cursor, self).executemany(sql, rows))
        return self

    async def _async_soft_close(self) -> None:
        """What SQLAlchemy's async results call on an async driver's cursor before handing the
        result over: nothing to do, as the rows are read from it on the loop's thread too."""


class Connection(sqlite3.Connection):
    def cursor(self, factory: Any = Cursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        _retrying(super().commit)


class _Driver:
    """The DB-API module SQLAlchemy is given: ``sqlite3``, connecting with the classes above."""

    def __init__(self) -> None:
        self.paramstyle = "qmark"
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "InterfaceError",
            "InternalError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "DataError",
            "Warning",
            "sqlite_version",
            "sqlite_version_info",
            "version",
            "version_info",
            "PARSE_COLNAMES",
            "PARSE_DECLTYPES",
            "Binary",
        ):
            if hasattr(sqlite3, name):
                setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kwargs: Any) -> Connection:
        kwargs["factory"] = Connection
        # Pooled connections are used on the loop's thread only, but the pool may close one
        # from another (at interpreter exit, on garbage collection).
        kwargs["check_same_thread"] = False
        return sqlite3.connect(*args, **kwargs)  # type: ignore[no-any-return]


class SQLiteLoopDialect(SQLiteDialect_pysqlite):
    """``sqlite+credira://``: the pysqlite dialect, run by the async engine on its loop."""

    driver = "credira"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _Driver()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool


dialect = SQLiteLoopDialect

registry.register("sqlite.credira", __name__, "SQLiteLoopDialect")


def url_for(url: str) -> URL:
    """The URL with this driver in place of whichever SQLite driver it names."""
    return make_url(url).set(drivername="sqlite+credira")
