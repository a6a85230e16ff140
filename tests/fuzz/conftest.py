"""One app per module for the fuzzer, served through schemathesis' own ASGI transport.

schemathesis calls the app synchronously from a portal thread that runs the app's lifespan on
its own event loop, so the app here is built and started outside pytest-asyncio's loop and the
database engine lives on that portal loop for the whole module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from schemathesis.python import asgi
from starlette.types import ASGIApp, Receive, Scope, Send

from credira.app import create_app
from credira.config import Settings
from tests.support import ADMIN_KEY, bearer


class AppSlot:
    """The ASGI app schemathesis is given when a test module is imported, before any fixture has
    run: it forwards everything, the lifespan included, to the app ``fuzz_app`` installs."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "use the fuzz_app fixture before sending requests"
        await self.app(scope, receive, send)


APP_SLOT = AppSlot()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[FastAPI]:
    """The app on a migrated SQLite copy, its lifespan running in schemathesis' portal."""
    root = tmp_path_factory.mktemp("fuzz")
    database = root / "credira.db"
    shutil.copyfile(sqlite_template, database)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        data_dir=root / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=False,
        # Rate limits are proven in tests/ratelimit; here they would turn the fuzzer's burst of
        # requests into 429s and hide every other answer behind them.
        rate_limit_per_key="",
        rate_limit_per_account="",
        rate_limit_create_call="",
    )
    APP_SLOT.app = create_app(settings)
    try:
        yield APP_SLOT.app
    finally:
        # Stops the lifespan schemathesis started on first use, which disposes of the engine.
        asgi.shutdown_lifespans()
        APP_SLOT.app = None


@pytest.fixture(scope="module")
def fuzz_key(fuzz_app: FastAPI) -> str:
    """A real user key of a fresh account, made through the API with the admin key."""
    with asgi.get_client(APP_SLOT) as http:
        reply = http.post(
            "/v1/users",
            json={"email": "fuzz@acme.example.com", "name": "Fuzz", "company": "Acme"},
            headers=bearer(ADMIN_KEY),
        )
    assert reply.status_code == 201, reply.text
    key: str = reply.json()["data"]["api_key"]
    return key
