from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import AdminKey, ApiKey, User


@dataclass(frozen=True, slots=True)
class ActiveKey:
    """What authentication needs of an unrevoked key and its user, and nothing more."""

    key_id: str
    key_hash: str
    last_used: datetime | None
    user_id: str
    account_id: str
    user_status: str
    permissions: list[str]


_keys = ApiKey.__table__.c
_users = User.__table__.c

# Built once: a statement object memoises its cache key, so reusing it spares every request
# the construction and cache-key walk (about half the cost of the lookup), and plain columns
# spare it the ORM's identity map.
_ACTIVE_KEY = (
    select(
        _keys.id,
        _keys.key_hash,
        _keys.last_used,
        _users.id,
        _users.account_id,
        _users.status,
        _users.permissions,
    )
    .join_from(ApiKey.__table__, User.__table__, _users.id == _keys.user_id)
    .where(_keys.key_hash == bindparam("key_hash"), _keys.revoked_time.is_(None))
)


async def find_active_key(session: AsyncSession, key_hash: str) -> ActiveKey | None:
    connection = await session.connection()
    row = (await connection.execute(_ACTIVE_KEY, {"key_hash": key_hash})).first()
    if row is None:
        return None
    key_id, stored_hash, last_used, user_id, account_id, status, permissions = row
    return ActiveKey(key_id, stored_hash, last_used, user_id, account_id, status, permissions)


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
