"""Secrets the service keeps for itself: the key that signs tracking and unsubscribe links.

An operator may set ``CREDIRA_SECRET_KEY``; otherwise the first process to start generates one
and stores it in ``platform_secrets``, so every process on the same database (API servers,
workers) signs and verifies with the same key, across restarts.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.config import Settings
from credira.kit.clock import Clock
from credira.secret import repository

log = structlog.get_logger("credira.secrets")

LINK_SIGNING = "link_signing"


async def signing_key(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
) -> bytes:
    """The link-signing key: ``settings.secret_key`` when set, else the stored one.

    The first start generates the key. Two processes starting at once may both generate one;
    the insert ignores a conflict and both then read the row that won, so they agree.
    """
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    async with sessionmaker() as session:
        value = await repository.stored(session, LINK_SIGNING)
        if value is None:
            now = clock.now() if clock is not None else datetime.now(UTC)
            await repository.store_unless_present(
                session, LINK_SIGNING, secrets.token_urlsafe(32), now
            )
            await session.commit()
            value = await repository.stored(session, LINK_SIGNING)
    if not value:
        raise RuntimeError("the link-signing key could not be stored")
    return value.encode("utf-8")


async def signing_key_at_start(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    within: float = 10.0,
) -> bytes:
    """``signing_key`` for the application's start: ``b""`` when the database cannot answer yet.

    The process must come up without its database (``/health`` answers, ``/ready`` says 503),
    so a failure here is logged, not raised; whoever needs the key loads it later.
    """
    try:
        async with asyncio.timeout(within):
            return await signing_key(settings, sessionmaker, clock=clock)
    except (SQLAlchemyError, OSError, RuntimeError) as exc:
        log.warning("secrets.signing_key.deferred", error=str(exc)[:300])
        return b""
