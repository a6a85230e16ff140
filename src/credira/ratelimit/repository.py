"""All SQL of the daily cost caps: lock an account's sends, count them since an instant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import Account, Call, Email


async def lock_account(session: AsyncSession, account_id: str) -> Account | None:
    """Serialise the account's cap checks until the transaction ends, so that two workers
    cannot both see "one call left" and both dial. (A write transaction on SQLite already
    holds the database's write lock.)"""
    return await session.scalar(
        select(Account)
        .where(Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def calls_placed_since(session: AsyncSession, account_id: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Call)
        .where(Call.account_id == account_id, Call.placed_time >= since)
    )
    return int(count or 0)


async def emails_sent_since(
    session: AsyncSession, account_id: str, since: datetime, *, besides: str
) -> int:
    """Emails of the account first sent since ``since``, other than ``besides`` (an email
    being retried was counted when it was first sent)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Email)
        .where(Email.account_id == account_id, Email.sent_time >= since, Email.id != besides)
    )
    return int(count or 0)
