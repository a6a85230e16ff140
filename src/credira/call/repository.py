"""All SQL about calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.call.rules import CallHistory
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


async def history(session: AsyncSession, invoice_id: str, since: datetime) -> CallHistory:
    """When each call about the invoice since ``since`` was placed, and when its last
    conversation (answered, with an outcome, the right party) ended: one query over the
    invoice's calls (``ix_calls_invoice_placed``), which are few."""
    rows = await session.execute(
        select(Call.placed_time, Call.end_time, Call.answered, Call.outcome).where(
            Call.invoice_id == invoice_id,
            or_(
                Call.placed_time > since,
                and_(
                    Call.answered.is_(True),
                    Call.outcome.is_not(None),
                    Call.outcome != "wrong_party",
                ),
            ),
        )
    )
    attempts: list[datetime] = []
    ends: list[datetime] = []
    for placed, end, answered, outcome in rows:
        if placed is not None and placed > since:
            attempts.append(placed)
        if answered and outcome is not None and outcome != "wrong_party" and end is not None:
            ends.append(end)
    return CallHistory(attempts=attempts, last_conversation_end=max(ends, default=None))


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
