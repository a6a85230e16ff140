"""All SQL about callouts."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.policy import PENDING
from credira.kit.pagination import Page
from credira.models import Call, Callout

# The request path's statements are built once, with bound parameters: a statement object
# memoises its cache key, so reusing it spares each request the construction and the walk that
# finds the compiled form (about half the Python cost of a small query).
_GET = select(Callout).where(
    Callout.id == bindparam("callout_id"), Callout.account_id == bindparam("account_id")
)


def _invoice_conditions(with_status: bool) -> list[ColumnElement[bool]]:
    conditions = [
        Callout.account_id == bindparam("account_id"),
        Callout.invoice_id == bindparam("invoice_id"),
    ]
    if with_status:
        conditions.append(Callout.status == bindparam("status"))
    return conditions


@cache
def _invoice_page(with_status: bool, after: bool) -> Select[Callout]:
    conditions = _invoice_conditions(with_status)
    if after:
        conditions.append(Callout.id > bindparam("starting_after"))
    return (
        select(Callout)
        .where(*conditions)
        .order_by(Callout.id)
        .limit(bindparam("fetch", type_=Integer))
    )


@cache
def _invoice_count(with_status: bool) -> Select[int]:
    return select(func.count()).select_from(Callout).where(*_invoice_conditions(with_status))


async def get(session: AsyncSession, account_id: str, callout_id: str) -> Callout | None:
    return await session.scalar(_GET, {"callout_id": callout_id, "account_id": account_id})


async def list_for_invoice(
    session: AsyncSession, account_id: str, invoice_id: str, status: str | None, page: Page
) -> tuple[list[Callout], bool, int]:
    params: dict[str, Any] = {"account_id": account_id, "invoice_id": invoice_id}
    if status is not None:
        params["status"] = status
    query = _invoice_page(status is not None, page.starting_after is not None)
    page_params: dict[str, Any] = {**params, "fetch": page.fetch}
    if page.starting_after is not None:
        page_params["starting_after"] = page.starting_after
    rows = await session.scalars(query, page_params)
    items, more = page.split(list(rows.all()))
    if page.starting_after is None and not more:
        total = len(items)
    else:
        total = int(await session.scalar(_invoice_count(status is not None), params) or 0)
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
