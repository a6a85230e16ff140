"""End-to-end email tests: the app with its embedded worker sends through ``CREDIRA_SMTP_URL`` to
a real SMTP server (aiosmtpd) running in the test, and the tests read what it received.

One SMTP server, one app and one database per test module and backend; every case works in an
account of its own and mails addresses of its own, so cases never see each other's messages.
Modules here declare ``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from credira.app import create_app
from credira.config import Settings
from credira.models import Base
from tests.channel.smtpd import SmtpServer
from tests.email_e2e.helpers import PUBLIC_URL, Mail
from tests.support import ADMIN_KEY, Api


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


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
def e2e_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpServer,
) -> Settings:
    folder = tmp_path_factory.mktemp("email-e2e")
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
        public_url=PUBLIC_URL,
        smtp_url=f"{smtp_server.url}?starttls=false&timeout=5",
        embedded_worker=True,
        worker_poll_seconds=0.05,
        worker_grace_seconds=1.0,
        simulator_time_scale=0.2,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def e2e_app(e2e_settings: Settings) -> AsyncIterator[FastAPI]:
    if not e2e_settings.is_sqlite:
        await _truncate(e2e_settings.resolved_database_url)
    application = create_app(e2e_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def e2e_client(e2e_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=e2e_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@pytest.fixture(scope="module")
def e2e_api(e2e_client: httpx.AsyncClient) -> Api:
    # One Api per module: its counter keeps user emails and invoice numbers unique in the
    # shared database.
    return Api(e2e_client)


@pytest.fixture
def app(e2e_app: FastAPI) -> FastAPI:
    return e2e_app


@pytest.fixture
def client(e2e_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return e2e_client


@pytest.fixture
def api(e2e_api: Api) -> Api:
    return e2e_api


@pytest.fixture
def mail(app: FastAPI, smtp_server: SmtpServer) -> Iterator[Mail]:
    # A refusal scripted by a case must not leak into the next one.
    smtp_server.handler.replies.clear()
    yield Mail(app, smtp_server)
    smtp_server.handler.replies.clear()
