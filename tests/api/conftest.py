"""Helpers for the API-edge tests: a whole-database snapshot to prove a refused request wrote
nothing, the app's routes as the router really serves them, and one app per module and backend.

The tables here send requests that must change nothing, and each case proves it with a
snapshot taken before and after; so the cases can share one app and database per module
(built once per backend) instead of paying for a fresh database each.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from credira.app import create_app
from credira.config import Settings
from credira.models import Base
from tests.support import ADMIN_KEY, Api

# Stamped by authentication itself (at most once a minute per key), not by the request's effect.
USAGE_COLUMNS = frozenset({"last_used", "last_login", "last_activity"})

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot_database(app: FastAPI) -> Snapshot:
    """Every row of every table (usage stamps left out), in a stable order."""
    tables: Snapshot = {}
    async with app.state.runtime.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in USAGE_COLUMNS]
            rows = (await session.execute(select(*columns))).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """``(method, path, route)`` for every route the app serves, included routers flattened."""
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield method, str(route.path), route


def query_params(route: Any) -> list[str]:
    """Names of every query parameter a route reads, its dependencies' included."""
    names: list[str] = []
    pending = [getattr(route, "dependant", None)]
    while pending:
        dependant = pending.pop()
        if dependant is None:
            continue
        names.extend(p.alias or p.name for p in dependant.query_params)
        pending.extend(dependant.dependencies)
    return names


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
    """Settings on a fresh database of one backend, for one test module."""
    folder = tmp_path_factory.mktemp("shared")
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
        # Nothing may change the database behind a case's back: the cases compare snapshots.
        embedded_worker=False,
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
