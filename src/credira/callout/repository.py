"""All SQL about callouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.policy import PENDING
from credira.kit.pagination import Page
from credira.models import Callout


async def get(session: AsyncSession, account_id: str, callout_id: str) -> Callout | None:
    return await session.scalar(
        select(Callout).where(Callout.id == callout_id, Callout.account_id == account_id)
    )


async def list_for_invoice(
    session: AsyncSession, account_id: str, invoice_id: str, status: str | None, page: Page
) -> tuple[list[Callout], bool, int]:
    conditions = [Callout.account_id == account_id, Callout.invoice_id == invoice_id]
    if status is not None:
        conditions.append(Callout.status == status)
    query = page.apply(select(Callout).where(*conditions), Callout.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    if page.starting_after is None and not more:
        total = len(items)
    else:
        total = int(
            await session.scalar(select(func.count()).select_from(Callout).where(*conditions)) or 0
        )
    return items, more, total


async def cancel_pending_for_invoice(
    session: AsyncSession, account_id: str, invoice_id: str, reason: str, now: datetime
) -> int:
    """Cancel every scheduled or active callout of an invoice (version bumped, so ETags move)."""
    result = await session.execute(
        update(Callout)
        .where(
            Callout.account_id == account_id,
            Callout.invoice_id == invoice_id,
            Callout.status.in_(PENDING),
        )
        .values(
            status="cancelled",
            status_reason=reason,
            updated_time=now,
            completed_time=now,
            version=Callout.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
