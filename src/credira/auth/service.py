"""Turn a bearer token into a principal. Unknown, revoked and inactive keys all fail alike."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.auth import repository
from credira.auth.keys import hash_key, same_hash
from credira.auth.principal import Principal
from credira.kit.clock import Clock

log = structlog.get_logger("credira.auth")

# Usage stamps are written at most this often per key, so reads stay reads.
TOUCH_EVERY = timedelta(minutes=1)


async def authenticate(
    session: AsyncSession,
    token: str,
    *,
    env_admin_hash: str | None,
    clock: Clock,
    writer: async_sessionmaker[AsyncSession] | None = None,
) -> Principal | None:
    """The principal a bearer token stands for, or None. ``writer`` is given when ``session``
    is a read-only session: the key's usage stamp is then written in a session of its own."""
    key_hash = hash_key(token)
    if env_admin_hash is not None and same_hash(key_hash, env_admin_hash):
        return Principal(account_id=None, user_id=None, permissions=frozenset(), is_admin=True)
    found = await repository.find_active_key(session, key_hash)
    if found is None:
        if await repository.admin_key_exists(session, key_hash):
            return Principal(None, None, frozenset(), is_admin=True)
        return None
    key, user = found
    # The lookup was by hash; compare again in constant time so no branch depends on a prefix.
    if not same_hash(key.key_hash, key_hash) or user.status != "active":
        return None
    principal = Principal(
        account_id=user.account_id, user_id=user.id, permissions=frozenset(user.permissions)
    )
    now = clock.now()
    if key.last_used is None or now - key.last_used > TOUCH_EVERY:
        if writer is None:
            # The request's own session writes (and on SQLite already holds the write lock).
            await _touch_in(session, key.id, user.id, now)
        else:
            await _touch(writer, key.id, user.id, now)
            # End the read session's first snapshot, so that what it reads next (the user
            # reading itself, say) includes the stamp just written.
            await session.rollback()
    return principal


async def _touch_in(session: AsyncSession, key_id: str, user_id: str, now: datetime) -> None:
    try:
        await repository.touch_key(session, key_id, user_id, now)
        await session.commit()
    except OperationalError as exc:
        await session.rollback()
        log.info("auth.touch_skipped", error=str(exc)[:200])


async def _touch(
    writer: async_sessionmaker[AsyncSession], key_id: str, user_id: str, now: datetime
) -> None:
    """Stamp the key's and the user's last use, in a short write transaction of its own (the
    request's session may be a read-only one). Best effort: a busy database must not fail the
    request."""
    try:
        async with writer() as session:
            await repository.touch_key(session, key_id, user_id, now)
            await session.commit()
    except OperationalError as exc:
        log.info("auth.touch_skipped", error=str(exc)[:200])
