"""Helpers for the API-edge tests: a whole-database snapshot to prove a refused request wrote
nothing, and the app's routes as the router really serves them.

The tables here send requests that must change nothing, and each case proves it with a
snapshot taken before and after; so the cases can share one app and database per module
(``shared_app`` of the root conftest, built once per backend) instead of paying for a fresh
database each.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from credira.models import Base

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


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    # Nothing may change the database behind a case's back: the cases compare snapshots.
    return {"embedded_worker": False}
