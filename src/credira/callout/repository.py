"""All SQL about callouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.policy import PENDING
from credira.kit.pagination import Page
from credira.models import Call, Callout


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
    session: AsyncSession,
    account_id: str,
    invoice_id: str,
    reason: str,
    now: datetime,
    *,
    except_id: str | None = None,
) -> int:
    """Cancel every scheduled or active callout of an invoice (version bumped, so ETags move)."""
    conditions = [
        Callout.account_id == account_id,
        Callout.invoice_id == invoice_id,
        Callout.status.in_(PENDING),
    ]
    if except_id is not None:
        conditions.append(Callout.id != except_id)
    result = await session.execute(
        update(Callout)
        .where(*conditions)
        .values(
            status="cancelled",
            status_reason=reason,
            # Never move updated_time backwards, whatever this host's clock says.
            updated_time=case((Callout.updated_time > now, Callout.updated_time), else_=now),
            completed_time=now,
            lease_owner=None,
            lease_expires=None,
            version=Callout.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Call)
        .where(
            Call.invoice_id == invoice_id,
            Call.placed_time.is_(None),
            Call.status == "initiated",
            *([Call.callout_id != except_id] if except_id is not None else []),
        )
        .values(status="cancelled", error=reason, updated_time=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def cancel_unplaced_calls(
    session: AsyncSession, callout_id: str, reason: str, now: datetime
) -> None:
    """A call requested but not dialled yet is cancelled with its callout."""
    await session.execute(
        update(Call)
        .where(
            Call.callout_id == callout_id, Call.placed_time.is_(None), Call.status == "initiated"
        )
        .values(status="cancelled", error=reason, updated_time=now)
        .execution_options(synchronize_session=False)
    )


async def media_counts(session: AsyncSession, callout_id: str) -> tuple[int, int]:
    """How many recordings and transcripts the callout's calls hold."""
    row = (
        await session.execute(
            select(func.count(Call.recording_path), func.count(Call.transcript)).where(
                Call.callout_id == callout_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def recording_paths(session: AsyncSession, callout_id: str) -> list[str]:
    rows = await session.scalars(
        select(Call.recording_path).where(
            Call.callout_id == callout_id, Call.recording_path.is_not(None)
        )
    )
    return [p for p in rows.all() if p]


async def scheduled_for_invoice(
    session: AsyncSession, invoice_id: str, *, except_id: str | None = None
) -> list[Callout]:
    query = select(Callout).where(Callout.invoice_id == invoice_id, Callout.status == "scheduled")
    if except_id is not None:
        query = query.where(Callout.id != except_id)
    return list((await session.scalars(query)).all())
