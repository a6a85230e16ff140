"""Turn a bearer token into a principal. Unknown, revoked and inactive keys all fail alike.

Every request reads its key from the database: a revoked key, or the key of a user deleted or
set inactive, fails on the very next request, whichever process serves it. (A cache of keys in
each process would make that "next request" a "within a second" for every other replica.)
"""

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


class UsageStamps:
    """When this process last stamped each key's use, so that of many concurrent requests of
    a key whose stamp is due, one writes it and the others do not queue for the write lock.

    Bounded: entries older than ``TOUCH_EVERY`` are dropped once ``limit`` keys are held.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._stamped: dict[str, datetime] = {}
        self._limit = limit

    def claim(self, key_id: str, now: datetime) -> bool:
        """Whether the caller should stamp ``key_id`` now (and, if so, it is counted done)."""
        last = self._stamped.get(key_id)
        if last is not None and timedelta(0) <= now - last <= TOUCH_EVERY:
            return False
        if len(self._stamped) >= self._limit:
            self._stamped = {
                k: t for k, t in self._stamped.items() if timedelta(0) <= now - t <= TOUCH_EVERY
            }
            if len(self._stamped) >= self._limit:
                self._stamped.clear()
        self._stamped[key_id] = now
        return True

    def release(self, key_id: str) -> None:
        """The stamp was not written after all: let the next request try."""
        self._stamped.pop(key_id, None)


def _stamp_due(last_used: datetime | None, now: datetime) -> bool:
    return last_used is None or now - last_used > TOUCH_EVERY


async def authenticate(
    session: AsyncSession,
    token: str,
    *,
    env_admin_hash: str | None,
    clock: Clock,
    writer: async_sessionmaker[AsyncSession] | None = None,
    stamps: UsageStamps | None = None,
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
    # The lookup was by hash; compare again in constant time so no branch depends on a prefix.
    if not same_hash(found.key_hash, key_hash) or found.user_status != "active":
        return None
    principal = Principal(
        account_id=found.account_id,
        user_id=found.user_id,
        permissions=frozenset(found.permissions),
    )
    now = clock.now()
    if _stamp_due(found.last_used, now) and (stamps is None or stamps.claim(found.key_id, now)):
        if writer is None:
            # The request's own session writes (and on SQLite already holds the write lock).
            written = await _touch_in(session, found.key_id, found.user_id, now)
        else:
            # End the read session's transaction first: its connection goes back to the pool
            # before the stamp takes another (holding one while waiting for the other would
            # starve the pool when every connection is held by a request doing the same), and
            # what it reads next (the user reading itself, say) includes the stamp.
            await session.rollback()
            written = await _touch(writer, found.key_id, found.user_id, now)
        if not written and stamps is not None:
            stamps.release(found.key_id)
    return principal


async def _touch_in(session: AsyncSession, key_id: str, user_id: str, now: datetime) -> bool:
    try:
        await repository.touch_key(session, key_id, user_id, now)
        await session.commit()
    except OperationalError as exc:
        await session.rollback()
        log.info("auth.touch_skipped", error=str(exc)[:200])
        return False
    return True


async def _touch(
    writer: async_sessionmaker[AsyncSession], key_id: str, user_id: str, now: datetime
) -> bool:
    """Stamp the key's and the user's last use, in a short write transaction of its own (the
    request's session may be a read-only one). Best effort: a busy database must not fail the
    request."""
    try:
        async with writer() as session:
            await repository.touch_key(session, key_id, user_id, now)
            await session.commit()
    except OperationalError as exc:
        log.info("auth.touch_skipped", error=str(exc)[:200])
        return False
    return True
