"""Dashboard sessions: stored by the hash of their token, read joined with the key and the
user they were made from (a revoked key or an inactive user ends them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.kit.pagination import Page
from credira.models import ApiKey, Callout, DashboardSession, User


@dataclass(frozen=True, slots=True)
class LiveSession:
    token_hash: str
    account_id: str
    user_id: str
    permissions: list[str]
    user_name: str
    created_time: datetime
    last_seen_time: datetime
    expires_time: datetime


_s = DashboardSession.__table__.c
_keys = ApiKey.__table__.c
_users = User.__table__.c

_LIVE = (
    select(
        _s.token_hash,
        _s.account_id,
        _s.user_id,
        _users.permissions,
        _users.name,
        _s.created_time,
        _s.last_seen_time,
        _s.expires_time,
    )
    .join_from(DashboardSession.__table__, ApiKey.__table__, _keys.id == _s.key_id)
    .join(User.__table__, _users.id == _s.user_id)
    .where(
        _s.token_hash == bindparam("token_hash"),
        _keys.revoked_time.is_(None),
        _users.status == "active",
        _users.account_id == _s.account_id,
    )
)


def add(
    session: AsyncSession,
    *,
    token_hash: str,
    account_id: str,
    user_id: str,
    key_id: str,
    now: datetime,
    expires: datetime,
) -> None:
    session.add(
        DashboardSession(
            token_hash=token_hash,
            account_id=account_id,
            user_id=user_id,
            key_id=key_id,
            created_time=now,
            last_seen_time=now,
            expires_time=expires,
        )
    )


async def find_live(session: AsyncSession, token_hash: str) -> LiveSession | None:
    """The session of ``token_hash`` if its key is unrevoked and its user active (expiry is
    the caller's to judge, with its clock)."""
    connection = await session.connection()
    row = (await connection.execute(_LIVE, {"token_hash": token_hash})).first()
    if row is None:
        return None
    return LiveSession(*row)


async def touch(session: AsyncSession, token_hash: str, now: datetime) -> None:
    await session.execute(
        update(DashboardSession)
        .where(DashboardSession.token_hash == token_hash)
        .values(last_seen_time=now)
    )


async def remove(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(DashboardSession).where(DashboardSession.token_hash == token_hash))


async def remove_expired(session: AsyncSession, now: datetime, idle_before: datetime) -> int:
    """Drop the sessions past their absolute end or unused since ``idle_before``."""
    result = await session.execute(
        delete(DashboardSession).where(
            (DashboardSession.expires_time <= now) | (DashboardSession.last_seen_time < idle_before)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def callouts_by_status(
    session: AsyncSession, account_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """The account's callouts scheduled in ``[start, end)``, counted by status."""
    rows = await session.execute(
        select(Callout.status, func.count())
        .where(
            Callout.account_id == account_id,
            Callout.scheduled_time >= start,
            Callout.scheduled_time < end,
        )
        .group_by(Callout.status)
    )
    return {str(status): int(n) for status, n in rows.all()}


async def list_callouts(
    session: AsyncSession, account_id: str, status: str | None, page: Page
) -> tuple[list[Callout], bool]:
    """A page of the account's callouts, oldest first (by id), of one status when given."""
    query = select(Callout).where(Callout.account_id == account_id)
    if status is not None:
        query = query.where(Callout.status == status)
    rows = await session.scalars(page.apply(query, Callout.id))
    return page.split(list(rows.all()))
