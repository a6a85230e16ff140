"""The key that signs tracking links: generated once per database, or ``CREDIRA_SECRET_KEY``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from credira.app import create_app
from credira.config import Settings
from credira.db import migrate
from credira.db.engine import create_engine, create_sessionmaker
from credira.email import tracking
from credira.models import PlatformSecret
from credira.secret.service import LINK_SIGNING, signing_key
from tests.email.conftest import PUBLIC_URL, Mailbox
from tests.support import ADMIN_KEY

TARGET = "https://pay.example.com/invoices/INV-1"


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield app, client


async def _stored(app: FastAPI) -> list[str]:
    async with app.state.runtime.sessionmaker() as session:
        return list((await session.scalars(select(PlatformSecret.name))).all())


async def test_signing_key_is_generated_once_and_kept_across_starts(settings: Settings) -> None:
    async with _running(settings) as (app, _):
        first_key = app.state.runtime.signing_key
        mailbox = Mailbox(app)
        email = await mailbox.email(await mailbox.account())
        link = tracking.click_url(PUBLIC_URL, email.tracking_id, TARGET, first_key)

    async with _running(settings) as (app, client):
        assert app.state.runtime.signing_key == first_key
        assert len(first_key) >= 32
        assert await _stored(app) == [LINK_SIGNING]
        # A link in an email sent before the restart still works after it.
        reply = await client.get(link.removeprefix(PUBLIC_URL))

    assert reply.status_code == 302, reply.text
    assert reply.headers["location"] == TARGET


async def test_concurrent_first_starts_agree_on_one_key(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        sessions = create_sessionmaker(engine)
        keys = await asyncio.gather(*(signing_key(settings, sessions) for _ in range(4)))
        async with sessions() as session:
            rows = (await session.scalars(select(PlatformSecret))).all()
    finally:
        await engine.dispose()

    assert len(set(keys)) == 1
    assert [row.value.encode() for row in rows] == [keys[0]]


async def test_configured_secret_key_signs_the_links_and_nothing_is_stored(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDIRA_SECRET_KEY", "an-operator-chosen-secret-of-some-length")
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url=PUBLIC_URL,
        embedded_worker=False,
    )

    async with _running(settings) as (app, client):
        assert app.state.runtime.signing_key == b"an-operator-chosen-secret-of-some-length"
        assert await _stored(app) == []
        mailbox = Mailbox(app)
        email = await mailbox.email(await mailbox.account())
        ours = tracking.click_url(PUBLIC_URL, email.tracking_id, TARGET, mailbox.key)
        generated = tracking.click_url(PUBLIC_URL, email.tracking_id, TARGET, b"x" * 43)
        accepted = await client.get(ours.removeprefix(PUBLIC_URL))
        refused = await client.get(generated.removeprefix(PUBLIC_URL))

    assert accepted.status_code == 302
    assert accepted.headers["location"] == TARGET
    assert refused.status_code == 404
    assert "location" not in refused.headers


async def test_app_starts_before_its_schema_and_loads_the_key_when_first_needed(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'late.db'}"
    settings = Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url=PUBLIC_URL,
        embedded_worker=False,
    )

    async with _running(settings) as (app, client):
        assert app.state.runtime.signing_key == b""
        assert (await client.get("/health")).status_code == 200
        await asyncio.to_thread(migrate.upgrade, url)

        reply = await client.get("/t/o/anything.gif")

        assert reply.status_code == 200
        key = app.state.runtime.signing_key
        async with app.state.runtime.sessionmaker() as session:
            stored = await session.scalar(select(PlatformSecret.value))
        assert stored is not None
        assert key == stored.encode()
