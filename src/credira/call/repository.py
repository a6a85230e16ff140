"""All SQL about calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.channel.voice.port import FINAL_STATUSES
from credira.kit.pagination import Page
from credira.models import Call


async def get(session: AsyncSession, account_id: str, call_id: str) -> Call | None:
    return await session.scalar(
        select(Call).where(Call.id == call_id, Call.account_id == account_id)
    )


async def open_attempt(session: AsyncSession, callout_id: str) -> Call | None:
    """The callout's attempt that was written but has not reached a final status."""
    return await session.scalar(
        select(Call)
        .where(Call.callout_id == callout_id, Call.status.not_in(FINAL_STATUSES))
        .order_by(Call.attempt_number.desc())
        .limit(1)
    )


async def attempts_since(session: AsyncSession, invoice_id: str, since: datetime) -> list[datetime]:
    rows = await session.scalars(
        select(Call.placed_time).where(
            Call.invoice_id == invoice_id,
            Call.placed_time.is_not(None),
            Call.placed_time > since,
        )
    )
    return [t for t in rows.all() if t is not None]


async def last_conversation_end(session: AsyncSession, invoice_id: str) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(func.max(Call.end_time)).where(
            Call.invoice_id == invoice_id,
            Call.answered.is_(True),
            Call.outcome.is_not(None),
            Call.outcome != "wrong_party",
        )
    )
    return value


async def list_for_invoice(
    session: AsyncSession, account_id: str, invoice_id: str, page: Page
) -> tuple[list[Call], bool, int]:
    conditions = [Call.account_id == account_id, Call.invoice_id == invoice_id]
    query = page.apply(select(Call).where(*conditions), Call.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    if page.starting_after is None and not more:
        return items, more, len(items)
    total = await session.scalar(select(func.count()).select_from(Call).where(*conditions))
    return items, more, int(total or 0)


async def for_callout(session: AsyncSession, callout_id: str) -> list[Call]:
    rows = await session.scalars(
        select(Call).where(Call.callout_id == callout_id).order_by(Call.attempt_number)
    )
    return list(rows.all())
