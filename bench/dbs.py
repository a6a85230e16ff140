"""Benchmark databases: a fresh PostgreSQL database (created and dropped) or a SQLite file."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from credira.db import migrate

ADMIN_URL = os.environ.get(
    "CREDIRA_BENCH_POSTGRES_URL",
    os.environ.get("CREDIRA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" | "postgresql"
    url: str  # SQLAlchemy async URL
    data_dir: Path  # CREDIRA_DATA_DIR for the processes using it

    @property
    def plain_url(self) -> str:
        """The URL without the SQLAlchemy driver, for asyncpg and operators' settings."""
        return self.url.replace("+asyncpg", "").replace("+aiosqlite", "")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.split(":///", 1)[1])


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL not reachable at {ADMIN_URL}: {exc}"
    return None


@contextmanager
def fresh_database(kind: str, label: str) -> Iterator[Database]:
    """A new, migrated database, removed afterwards (also on failure)."""
    work = Path(tempfile.mkdtemp(prefix=f"credira-bench-{label}-"))
    try:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{work / 'credira.db'}"
            migrate.upgrade(url)
            yield Database(kind, url, work)
            return
        name = f"credira_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        try:
            base, _, _ = ADMIN_URL.rpartition("/")
            url = "postgresql+asyncpg://" + f"{base}/{name}".split("://", 1)[1]
            migrate.upgrade(url)
            yield Database(kind, url, work)
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        shutil.rmtree(work, ignore_errors=True)
