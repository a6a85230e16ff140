"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``CREDIRA_TEST_POSTGRES_URL`` (default: the local server, user postgres).
Outside CI its tests skip with the reason when no server answers; in CI (``CI=true``) they fail.

``app``, ``client`` and ``api`` are one app on a fresh database per test. ``shared_app``,
``shared_client`` and ``shared_api`` are one app per test module and backend, for modules whose
cases each work in tenants of their own and so need no fresh database each; such modules declare
``pytestmark = pytest.mark.asyncio(loop_scope="module")``. A directory whose shared app needs other
settings overrides ``shared_overrides`` in its conftest.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from credira.app import create_app
from credira.config import Settings
from credira.db import migrate
from credira.models import Base
from tests.support import ADMIN_KEY, Api

# Rate limits are tested in tests/ratelimit; elsewhere a test client outpaces any real one.
for _name in ("RATE_LIMIT_PER_KEY", "RATE_LIMIT_PER_ACCOUNT", "RATE_LIMIT_CREATE_CALL"):
    os.environ.setdefault(f"CREDIRA_{_name}", "")

PG_URL = os.environ.get("CREDIRA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
PUBLIC_URL = "http://testserver"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def _pg_dsn(database: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"credira_test_{os.getpid()}"
    try:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = "postgresql+asyncpg://" + _pg_dsn(name).split("://", 1)[1]
    migrate.upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await engine.dispose()


def _fresh_database(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """A copy of the migrated SQLite file in ``folder``, or the session's PostgreSQL database
    (whose tables the caller empties)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = folder / "credira.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _test_settings(database_url: str, folder: Path, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": folder / "data",
        "admin_key": ADMIN_KEY,
        "public_url": PUBLIC_URL,
        # API tests drive state by hand; worker tests start a worker of their own.
        "embedded_worker": False,
        **overrides,
    }
    return Settings(**fields)


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def _client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = _fresh_database(backend, request, tmp_path)
    if backend != "sqlite":
        asyncio.run(_truncate_all(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return _test_settings(database_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with _running(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_of(app) as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    """The settings by which a directory's shared app differs from ``settings``."""
    return {}


@pytest.fixture(scope="module", params=BACKENDS)
def shared_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shared_overrides: dict[str, Any],
) -> Settings:
    """Settings on a fresh database of one backend, for one test module."""
    folder = tmp_path_factory.mktemp("shared")
    url = _fresh_database(request.param, request, folder)
    return _test_settings(url, folder, **shared_overrides)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_app(shared_settings: Settings) -> AsyncIterator[FastAPI]:
    if not shared_settings.is_sqlite:
        await _truncate_all(shared_settings.resolved_database_url)
    async with _running(shared_settings) as application:
        yield application


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_client(shared_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_of(shared_app) as http:
        yield http


@pytest.fixture(scope="module")
def shared_api(shared_client: httpx.AsyncClient) -> Api:
    # One Api per module: its counter keeps user emails and invoice numbers unique in the
    # shared database.
    return Api(shared_client)
