"""What ``serve`` does before it listens: bring the schema up and make sure an admin key exists."""

from __future__ import annotations

import asyncio

from credira.auth import repository as auth_repository
from credira.auth.keys import hash_key, new_admin_key
from credira.config import Settings
from credira.db import migrate
from credira.db.engine import create_engine, create_sessionmaker
from credira.kit.clock import SystemClock


class SchemaOutOfDate(RuntimeError):
    pass


def prepare_schema(settings: Settings) -> str:
    """Migrate an empty database; refuse to run on one at another revision.

    Returns what was done, for the start-up banner.
    """
    url = settings.resolved_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    current, has_tables = migrate.current_state(url)
    head = migrate.head_revision(url)
    if current == head:
        return f"schema at {head}"
    if current is None and not has_tables:
        migrate.upgrade(url)
        return f"empty database migrated to {head}"
    if current is None:
        raise SchemaOutOfDate(
            f"the database holds tables but no schema revision (alembic_version), so it is not "
            f"a Credira database or predates migrations; code expects {head}. Point "
            "CREDIRA_DATABASE_URL at an empty database or a Credira one"
        )
    if not migrate.is_known_revision(url, current):
        raise SchemaOutOfDate(
            f"database schema is at revision {current!r}, which this version of Credira does "
            f"not know (code expects {head}); it was probably migrated by a newer release: "
            "upgrade Credira, or restore a backup"
        )
    raise SchemaOutOfDate(
        f"database schema is at {current}, code expects {head}: run `credira migrate` first"
    )


async def _ensure_admin_key(settings: Settings, *, rotate: bool) -> str | None:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            if not rotate and await auth_repository.any_admin_key(session):
                return None
            key = new_admin_key()
            await auth_repository.store_admin_key(session, hash_key(key), SystemClock().now())
            await session.commit()
            return key
    finally:
        await engine.dispose()


def ensure_admin_key(settings: Settings, *, rotate: bool = False) -> str | None:
    """Generate and store (hashed) an admin key on first start; return it so it can be shown
    once. ``None`` when one is already stored (or ``CREDIRA_ADMIN_KEY`` is set)."""
    if settings.admin_key and not rotate:
        return None
    return asyncio.run(_ensure_admin_key(settings, rotate=rotate))
