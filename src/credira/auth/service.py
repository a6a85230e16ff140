"""Turn a bearer token into a principal. Unknown, revoked and inactive keys all fail alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth import repository
from credira.auth.keys import hash_key, same_hash
from credira.auth.principal import Principal
from credira.kit.clock import Clock

# Usage stamps are written at most this often per key, so reads stay reads.
TOUCH_EVERY = timedelta(minutes=1)


async def authenticate(
    session: AsyncSession,
    token: str,
    *,
    env_admin_hash: str | None,
    clock: Clock,
) -> Principal | None:
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
    now = clock.now()
    if key.last_used is None or now - key.last_used > TOUCH_EVERY:
        try:
            await repository.touch_key(session, key.id, user.id, now)
            await session.commit()
        except OperationalError:
            # Usage stamps are best effort; a busy database must not fail the request.
            await session.rollback()
    return Principal(
        account_id=user.account_id, user_id=user.id, permissions=frozenset(user.permissions)
    )
