"""All SQL about calls."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.call.rules import CallHistory
from credira.channel.voice.port import FINAL_STATUSES
from credira.kit.pagination import Page
from credira.models import Call


def _calls_table() -> Table:
    """``calls``, for the statements that write its rows without ORM objects."""
    table = Call.__table__
    assert isinstance(table, Table)
    return table


_CALLS = _calls_table()
_INSERT_CALLS = insert(_CALLS)
_UPDATE_CALL = update(_CALLS).where(_CALLS.c.id == bindparam("call_id"))


async def get(session: AsyncSession, account_id: str, call_id: str) -> Call | None:
    return await session.scalar(
        select(Call).where(Call.id == call_id, Call.account_id == account_id)
    )


async def open_attempts(session: AsyncSession, callout_ids: Collection[str]) -> dict[str, Call]:
    """Each callout's attempt that was written but has not reached a final status (the latest,
    should there be more than one), by callout id: one query over ``ix_calls_callout``."""
    if not callout_ids:
        return {}
    rows = await session.scalars(
        select(Call).where(Call.callout_id.in_(callout_ids), Call.status.not_in(FINAL_STATUSES))
    )
    found: dict[str, Call] = {}
    for call in rows:
        held = found.get(call.callout_id)
        if held is None or call.attempt_number > held.attempt_number:
            found[call.callout_id] = call
    return found


async def histories(
    session: AsyncSession, invoice_ids: Collection[str], since: datetime
) -> dict[str, CallHistory]:
    """For each invoice, when each of its calls since ``since`` was placed, and when its last
    conversation (answered, with an outcome, the right party) ended: one query over the
    invoices' calls (``ix_calls_invoice_placed``), which are few per invoice."""
    if not invoice_ids:
        return {}
    rows = await session.execute(
        select(Call.invoice_id, Call.placed_time, Call.end_time, Call.answered, Call.outcome).where(
            Call.invoice_id.in_(invoice_ids),
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
    attempts: dict[str, list[datetime]] = {invoice_id: [] for invoice_id in invoice_ids}
    ends: dict[str, list[datetime]] = {invoice_id: [] for invoice_id in invoice_ids}
    for invoice_id, placed, end, answered, outcome in rows:
        if placed is not None and placed > since:
            attempts[invoice_id].append(placed)
        if answered and outcome is not None and outcome != "wrong_party" and end is not None:
            ends[invoice_id].append(end)
    return {
        invoice_id: CallHistory(
            attempts=attempts[invoice_id],
            last_conversation_end=max(ends[invoice_id], default=None),
        )
        for invoice_id in invoice_ids
    }


async def history(session: AsyncSession, invoice_id: str, since: datetime) -> CallHistory:
    """``histories`` of one invoice."""
    return (await histories(session, [invoice_id], since))[invoice_id]


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


async def insert_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New attempts, as rows (by column), in one statement: no ORM object is made, tracked
    and flushed for a row that the transaction only writes."""
    if rows:
        await session.execute(_INSERT_CALLS, list(rows))


async def update_rows(session: AsyncSession, rows: Sequence[dict[str, object]]) -> None:
    """Changes of calls, each row a call's ``id`` and the columns it sets: one ``UPDATE`` (of
    many rows) per set of columns. A call deleted meanwhile (with its invoice) is no error:
    there is nothing to update."""
    same_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in rows:
        same_columns.setdefault(tuple(sorted(row)), []).append(row)
    for group in same_columns.values():
        # The SET clause follows the group's parameters.
        params = [{"call_id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in group]
        await session.execute(_UPDATE_CALL, params)


async def lock_statuses(session: AsyncSession, call_ids: Collection[str]) -> dict[str, str]:
    """The calls' statuses, by id, their rows locked until the transaction ends (in id order,
    as every writer of several calls takes them)."""
    if not call_ids:
        return {}
    rows = await session.execute(
        select(Call.id, Call.status)
        .where(Call.id.in_(sorted(call_ids)))
        .order_by(Call.id)
        .with_for_update()
    )
    return {call_id: status for call_id, status in rows}


async def by_ids(session: AsyncSession, call_ids: Collection[str]) -> Sequence[Call]:
    """The calls, as they now are in the transaction (one query)."""
    if not call_ids:
        return []
    return (await session.scalars(select(Call).where(Call.id.in_(call_ids)))).all()


class Ending(NamedTuple):
    """What concluding reads of a call's row."""

    id: str
    status: str
    from_number: str | None
    start_time: datetime | None
    recording_path: str | None
    metadata: dict[str, Any]


async def endings(session: AsyncSession, call_ids: Collection[str]) -> dict[str, Ending]:
    """What concluding the calls reads of each, by id, as columns: their changes are written
    as rows (``update_rows``), without ORM objects to load, track and flush."""
    found = await session.execute(
        select(
            Call.id,
            Call.status,
            Call.from_number,
            Call.start_time,
            Call.recording_path,
            Call.metadata_,
        ).where(Call.id.in_(call_ids))
    )
    return {row.id: Ending(*row) for row in found}


async def provider_load(
    session: AsyncSession,
    pairs: Collection[tuple[str, str]],
    *,
    open_since: datetime,
    started_since: datetime,
) -> dict[tuple[str, str], tuple[int, int]]:
    """For each (account, provider): its calls dialled since ``open_since`` that have not
    ended, and those dialled since ``started_since`` (two range reads of
    ``ix_calls_account_placed``); for the providers' limits on calls at once and per second."""
    if not pairs:
        return {}
    accounts = sorted({account for account, _ in pairs})
    providers = sorted({provider for _, provider in pairs})
    scope = (
        Call.account_id.in_(accounts),
        Call.provider.in_(providers),
        Call.placed_time.is_not(None),
    )
    open_rows = await session.execute(
        select(Call.account_id, Call.provider, func.count())
        .where(*scope, Call.placed_time >= open_since, Call.status.not_in(FINAL_STATUSES))
        .group_by(Call.account_id, Call.provider)
    )
    started_rows = await session.execute(
        select(Call.account_id, Call.provider, func.count())
        .where(*scope, Call.placed_time >= started_since)
        .group_by(Call.account_id, Call.provider)
    )
    load = {pair: [0, 0] for pair in pairs}
    for account, provider, count in open_rows:
        if (account, provider) in load:
            load[(account, provider)][0] = int(count)
    for account, provider, count in started_rows:
        if (account, provider) in load:
            load[(account, provider)][1] = int(count)
    return {pair: (counts[0], counts[1]) for pair, counts in load.items()}
