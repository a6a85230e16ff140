"""Small synchronous reads from the benchmark database (for polling progress)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import asyncpg

from bench.dbs import Database


class Probe:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.loop = asyncio.new_event_loop()
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection | None = None
        if db.kind == "sqlite":
            self.sqlite = sqlite3.connect(db.sqlite_path, timeout=30)
        else:
            self.pg = self.loop.run_until_complete(asyncpg.connect(db.plain_url))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.sqlite is not None:
            return list(self.sqlite.execute(sql).fetchall())
        assert self.pg is not None
        return [tuple(r) for r in self.loop.run_until_complete(self.pg.fetch(sql))]

    def value(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def execute(self, sql: str) -> None:
        if self.sqlite is not None:
            self.sqlite.execute(sql)
            self.sqlite.commit()
            return
        assert self.pg is not None
        self.loop.run_until_complete(self.pg.execute(sql))

    def pending_callouts(self) -> int:
        return int(
            self.value("SELECT count(*) FROM callouts WHERE status IN ('scheduled', 'active')")
        )

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            self.loop.run_until_complete(self.pg.close())
        self.loop.close()
