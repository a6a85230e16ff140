"""All SQL about callouts."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.call import state as call_state
from credira.call.state import CallStatus
from credira.callout import state as callout_state
from credira.callout.state import PENDING, CalloutStatus
from credira.kit.pagination import Page
from credira.models import Call, Callout

_Row = TypeVar("_Row", Callout, Call)

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


async def pending_for_invoice(
    session: AsyncSession, account_id: str, invoice_id: str, *, except_id: str | None = None
) -> list[Callout]:
    """The invoice's scheduled and active callouts, locked in id order until the transaction
    ends (the invoice's row first: the order every writer of both keeps)."""
    query = select(Callout).where(
        Callout.account_id == account_id,
        Callout.invoice_id == invoice_id,
        Callout.status.in_(PENDING),
    )
    if except_id is not None:
        query = query.where(Callout.id != except_id)
    return await _locked(session, query.order_by(Callout.id))


async def unplaced_calls(
    session: AsyncSession,
    *,
    invoice_id: str | None = None,
    callout_id: str | None = None,
    except_callout_id: str | None = None,
) -> list[Call]:
    """The calls requested and not dialled yet (``initiated``, never placed) of an invoice or
    of a callout, locked in id order (after their callouts)."""
    query = select(Call).where(
        Call.placed_time.is_(None), Call.status == CallStatus.INITIATED.value
    )
    if invoice_id is not None:
        query = query.where(Call.invoice_id == invoice_id)
    if callout_id is not None:
        query = query.where(Call.callout_id == callout_id)
    if except_callout_id is not None:
        query = query.where(Call.callout_id != except_callout_id)
    return await _locked(session, query.order_by(Call.id))


async def _locked(session: AsyncSession, query: Select[_Row]) -> list[_Row]:
    """The rows of ``query`` (ordered by id), locked until the transaction ends; read again
    rather than taken from the session's identity map: the row as locked is the one changed."""
    rows = await session.scalars(query.with_for_update().execution_options(populate_existing=True))
    return list(rows.all())


async def cancel_pending_for_invoice(
    session: AsyncSession,
    account_id: str,
    invoice_id: str,
    reason: str,
    now: datetime,
    public_url: str,
    *,
    except_id: str | None = None,
) -> int:
    """Cancel every scheduled or active callout of an invoice but ``except_id``, and its calls
    not dialled yet; how many callouts. Each change goes through the callout's and the call's
    life cycles, with its event (``public_url`` for the call's); versions advance as the
    rows are written."""
    callouts = await pending_for_invoice(session, account_id, invoice_id, except_id=except_id)
    for callout in callouts:
        callout_state.finish(session, callout, CalloutStatus.CANCELLED, reason, now)
    for call in await unplaced_calls(session, invoice_id=invoice_id, except_callout_id=except_id):
        call_state.move(session, call, CallStatus.CANCELLED, public_url, now, error=reason)
    return len(callouts)


async def cancel_unplaced_calls(
    session: AsyncSession, callout_id: str, reason: str, now: datetime, public_url: str
) -> None:
    """A call requested but not dialled yet is cancelled with its callout."""
    for call in await unplaced_calls(session, callout_id=callout_id):
        call_state.move(session, call, CallStatus.CANCELLED, public_url, now, error=reason)


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
    """The invoice's scheduled callouts, locked in id order (after the invoice)."""
    query = select(Callout).where(
        Callout.invoice_id == invoice_id, Callout.status == CalloutStatus.SCHEDULED.value
    )
    if except_id is not None:
        query = query.where(Callout.id != except_id)
    return await _locked(session, query.order_by(Callout.id))


async def set_email_done(
    session: AsyncSession, callout_id: str, done: bool, *, unless_finished: bool = False
) -> None:
    """Mark the callout's email part done (or undone); with ``unless_finished``, only while the
    callout is not finished."""
    statement = update(Callout).where(Callout.id == callout_id)
    if unless_finished:
        statement = statement.where(Callout.status.not_in(callout_state.FINISHED))
    await session.execute(
        statement.values(email_done=done).execution_options(synchronize_session=False)
    )
