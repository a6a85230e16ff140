from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import AdminKey, ApiKey, User


async def find_active_key(session: AsyncSession, key_hash: str) -> tuple[ApiKey, User] | None:
    row = (
        await session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_time.is_(None))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def admin_key_exists(session: AsyncSession, key_hash: str) -> bool:
    found = await session.scalar(
        select(AdminKey.id).where(AdminKey.key_hash == key_hash, AdminKey.revoked_time.is_(None))
    )
    return found is not None


async def any_admin_key(session: AsyncSession) -> bool:
    return (await session.scalar(select(AdminKey.id).limit(1))) is not None


async def store_admin_key(session: AsyncSession, key_hash: str, now: datetime) -> None:
    await session.execute(
        update(AdminKey).where(AdminKey.revoked_time.is_(None)).values(revoked_time=now)
    )
    session.add(AdminKey(key_hash=key_hash, created_time=now))


async def touch_key(session: AsyncSession, key_id: str, user_id: str, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used=now))
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(last_login=now, last_activity=now)
        .execution_options(synchronize_session=False)
    )
