"""All SQL of ``platform_secrets``: a named secret read, and stored unless one is already."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import insert_ignore
from credira.models import PlatformSecret


async def stored(session: AsyncSession, name: str) -> str | None:
    return await session.scalar(select(PlatformSecret.value).where(PlatformSecret.name == name))


async def store_unless_present(session: AsyncSession, name: str, value: str, now: datetime) -> None:
    """Insert the secret; a row of that name already there (another process won) is kept."""
    await session.execute(
        insert_ignore(
            session,
            PlatformSecret,
            ["name"],
            {"name": name, "value": value, "created_time": now},
        )
    )
