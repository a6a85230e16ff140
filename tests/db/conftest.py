"""An empty database per test, on each backend, for migration and column-type tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import IN_CI, PG_URL, _pg_admin, _pg_dsn


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The async URL of a database with no tables at all: a new SQLite file or PG database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"credira_empty_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield "postgresql+asyncpg://" + _pg_dsn(name).split("://", 1)[1]
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
