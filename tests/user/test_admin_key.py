"""The generated admin key: made once when CREDIRA_ADMIN_KEY is unset, stored only hashed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from credira.app import create_app
from credira.bootstrap import ensure_admin_key
from credira.config import Settings
from credira.models import AdminKey
from tests.support import bearer
from tests.user.helpers import TIMESTAMP, assert_error

Client = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


def keyless(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings (database, no embedded worker, ...) with no CREDIRA_ADMIN_KEY."""
    fields = settings.model_dump()
    fields.update(admin_key=None, data_dir=tmp_path / "keyless")
    return Settings(**fields)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


async def create_user(http: httpx.AsyncClient, key: str, email: str) -> httpx.Response:
    body = {"email": email, "name": "Ada", "company": "Acme Corporation"}
    return await http.post("/v1/users", json=body, headers=bearer(key))


async def stored_admin_keys(http: httpx.AsyncClient) -> list[AdminKey]:
    sessionmaker = http.app.state.runtime.sessionmaker  # type: ignore[attr-defined]
    async with sessionmaker() as session:
        return list((await session.scalars(select(AdminKey).order_by(AdminKey.id))).all())


async def test_admin_key_is_generated_once_and_stored_hashed(
    settings: Settings, tmp_path: Path
) -> None:
    config = keyless(settings, tmp_path)

    key = await asyncio.to_thread(ensure_admin_key, config)
    again = await asyncio.to_thread(ensure_admin_key, config)

    assert key is not None
    assert len(key) >= 40
    assert again is None
    async with serving(config) as http:
        stored = await stored_admin_keys(http)
        assert [k.key_hash for k in stored] == [hashlib.sha256(key.encode()).hexdigest()]
        assert stored[0].revoked_time is None
        assert all(key not in str(v) for k in stored for v in vars(k).values())

        created = await create_user(http, key, "ada@acme.example.com")
        assert created.status_code == 201, created.text
        assert created.json()["data"]["api_key"].startswith("credira_sk_")
        assert TIMESTAMP.fullmatch(created.json()["data"]["created_time"])


async def test_unknown_key_is_refused_when_admin_key_is_generated(
    settings: Settings, tmp_path: Path
) -> None:
    config = keyless(settings, tmp_path)
    key = await asyncio.to_thread(ensure_admin_key, config)
    assert key is not None

    async with serving(config) as http:
        for wrong in (key + "x", key[:-1], "credira_admin_guess", settings.admin_key or ""):
            response = await create_user(http, wrong, "eve@acme.example.com")
            assert_error(response, 401, "UNAUTHORIZED", "Invalid or missing Credira AI key")


async def test_rotating_the_admin_key_revokes_the_old_one(
    settings: Settings, tmp_path: Path
) -> None:
    config = keyless(settings, tmp_path)
    old = await asyncio.to_thread(ensure_admin_key, config)

    new = await asyncio.to_thread(lambda: ensure_admin_key(config, rotate=True))

    assert old is not None
    assert new is not None
    assert new != old
    async with serving(config) as http:
        refused = await create_user(http, old, "old@acme.example.com")
        assert_error(refused, 401, "UNAUTHORIZED", "Invalid or missing Credira AI key")
        accepted = await create_user(http, new, "new@acme.example.com")
        assert accepted.status_code == 201, accepted.text
        stored = await stored_admin_keys(http)
        assert len(stored) == 2
        assert stored[0].revoked_time is not None
        assert stored[1].revoked_time is None
    # A stored key, rotated or not, is not regenerated on the next start.
    assert await asyncio.to_thread(ensure_admin_key, config) is None


async def test_configured_admin_key_skips_generation(settings: Settings) -> None:
    assert settings.admin_key is not None

    generated = await asyncio.to_thread(ensure_admin_key, settings)

    assert generated is None
    async with serving(settings) as http:
        assert await stored_admin_keys(http) == []
        accepted = await create_user(http, settings.admin_key, "ops@acme.example.com")
        assert accepted.status_code == 201, accepted.text
