"""One app per test module and backend for the calls API tests.

Every case works in a tenant of its own, so the cases of a module can share one app and database
(built once per backend) instead of paying for a fresh database each. A module that sets
``EMBEDDED_WORKER = True`` gets the app with its embedded worker and a fast simulator.
Modules using these fixtures declare ``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from credira.app import create_app
from credira.config import Settings
from credira.models import Base
from tests.support import ADMIN_KEY, Api


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await engine.dispose()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def shared_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    folder = tmp_path_factory.mktemp("calls")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = folder / "credira.db"
        shutil.copyfile(template, target)
        url = f"sqlite+aiosqlite:///{target}"
    else:
        url = request.getfixturevalue("postgres_url")
    return Settings(
        database_url=url,
        data_dir=folder / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=bool(getattr(request.module, "EMBEDDED_WORKER", False)),
        worker_poll_seconds=0.05,
        simulator_time_scale=0.2,
        # These tests pin the documented shapes without a text-to-speech engine; recordings
        # have their own tests (tests/worker/test_recordings.py).
        simulator_recordings=False,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_app(shared_settings: Settings) -> AsyncIterator[FastAPI]:
    if not shared_settings.is_sqlite:
        await _truncate(shared_settings.resolved_database_url)
    application = create_app(shared_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_api(shared_app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=shared_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http)
