"""Signing in to the dashboard: an API key exchanged for a session, and a session's checks.

The cookie carries a random 256-bit token; the database keeps its SHA-256 only, so a copy of
the database signs nobody in. The form token that guards every POST (CSRF) is derived from the
cookie's token, so it is stored nowhere and dies with the session: a form forged elsewhere has
no way to it, and one replayed after sign-out names a session that no longer exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth import repository as keys
from credira.auth.keys import hash_key
from credira.auth.principal import Principal
from credira.auth.service import authenticate
from credira.config import Settings
from credira.dashboard import repository
from credira.kit.clock import Clock

# The last-seen stamp is written at most this often, so reading a page stays a read.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who it acts as, and the tokens its pages carry."""

    principal: Principal
    token_hash: str
    csrf_token: str
    user_name: str
    touch_due: bool


def csrf_token_for(token: str) -> str:
    return hmac.new(token.encode(), b"credira-dashboard-csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(csrf_token_for(token), sent)


def _limits(settings: Settings) -> tuple[timedelta, timedelta]:
    return (
        timedelta(minutes=settings.dashboard_idle_minutes),
        timedelta(hours=settings.dashboard_max_hours),
    )


async def sign_in(
    session: AsyncSession, settings: Settings, clock: Clock, api_key: str
) -> str | None:
    """A new session's token for a user's active API key, or None (unknown, revoked or an
    inactive user's key, or the admin key: it manages users only). The caller commits."""
    api_key = api_key.strip()
    if not api_key or len(api_key) > 200:
        return None
    principal = await authenticate(session, api_key, env_admin_hash=None, clock=clock)
    if principal is None or principal.is_admin or principal.account_id is None:
        return None
    found = await keys.find_active_key(session, hash_key(api_key))
    if found is None:
        return None
    now = clock.now()
    token = secrets.token_urlsafe(32)
    repository.add(
        session,
        token_hash=hash_key(token),
        account_id=found.account_id,
        user_id=found.user_id,
        key_id=found.key_id,
        now=now,
        expires=now + _limits(settings)[1],
    )
    return token


async def resolve(
    session: AsyncSession, settings: Settings, clock: Clock, token: str | None
) -> SignedIn | None:
    """The live session of a cookie's token, or None: unknown, signed out, expired (idle or
    past its absolute end), its key revoked or its user inactive."""
    if not token or len(token) > 200:
        return None
    token_hash = hash_key(token)
    live = await repository.find_live(session, token_hash)
    if live is None:
        return None
    now = clock.now()
    idle, _ = _limits(settings)
    if now >= live.expires_time or now - live.last_seen_time >= idle:
        return None
    principal = Principal(live.account_id, live.user_id, frozenset(live.permissions))
    return SignedIn(
        principal,
        token_hash,
        csrf_token_for(token),
        live.user_name,
        touch_due=now - live.last_seen_time >= TOUCH_EVERY,
    )


async def touch(session: AsyncSession, clock: Clock, signed_in: SignedIn) -> None:
    await repository.touch(session, signed_in.token_hash, clock.now())


async def sign_out(session: AsyncSession, token: str) -> None:
    await repository.remove(session, hash_key(token))


async def forget_expired(session: AsyncSession, settings: Settings, clock: Clock) -> int:
    now = clock.now()
    idle, _ = _limits(settings)
    return await repository.remove_expired(session, now, now - idle)
