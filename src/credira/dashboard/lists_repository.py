"""The SQL of the dashboard's account-wide lists of calls and emails, newest first, one page
at a time (the API lists them per invoice or callout only). A page is the rows of ids below a
cursor, so the next page costs what the first did, however far back it is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import Call, Email, Invoice


def _newest_first(query: Select[Any], column: Any, before: str | None, limit: int) -> Select[Any]:
    """The page's ids first (from the account's index in id order, without reading a row),
    then their rows. Asked for the rows at once, PostgreSQL may walk the primary key backwards
    instead, reading every newer row of other accounts on its way (103,000 rows, 120 ms, when
    another account wrote last)."""
    if before is not None:
        query = query.where(column < before)
    ids = query.with_only_columns(column).order_by(column.desc()).limit(limit + 1)
    model = query.column_descriptions[0]["entity"]
    return select(model).where(column.in_(ids.scalar_subquery())).order_by(column.desc())


def _split(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    return rows[:limit], len(rows) > limit


async def calls(
    session: AsyncSession,
    account_id: str,
    *,
    status: str | None,
    outcome: str | None,
    before: str | None,
    limit: int,
) -> tuple[list[Call], bool]:
    """A page of the account's calls, newest first; of one status or outcome when given."""
    query = select(Call).where(Call.account_id == account_id)
    if status is not None:
        query = query.where(Call.status == status)
    if outcome is not None:
        query = query.where(Call.outcome == outcome)
    rows = await session.scalars(_newest_first(query, Call.id, before, limit))
    return _split(list(rows.all()), limit)


async def emails(
    session: AsyncSession, account_id: str, *, status: str | None, before: str | None, limit: int
) -> tuple[list[Email], bool]:
    """A page of the account's emails, newest first; of one status when given."""
    query = select(Email).where(Email.account_id == account_id)
    if status is not None:
        query = query.where(Email.status == status)
    rows = await session.scalars(_newest_first(query, Email.id, before, limit))
    return _split(list(rows.all()), limit)


async def invoices(
    session: AsyncSession, account_id: str, *, status: str | None, before: str | None, limit: int
) -> tuple[list[Invoice], bool]:
    """A page of the account's invoices, newest first; of one status when given."""
    query = select(Invoice).where(Invoice.account_id == account_id)
    if status is not None:
        query = query.where(Invoice.status == status)
    rows = await session.scalars(_newest_first(query, Invoice.id, before, limit))
    return _split(list(rows.all()), limit)


async def invoice_numbers(
    session: AsyncSession, account_id: str, invoice_ids: set[str]
) -> dict[str, str]:
    """The numbers of the account's invoices among ``invoice_ids``."""
    if not invoice_ids:
        return {}
    rows = await session.execute(
        select(Invoice.id, Invoice.number).where(
            Invoice.account_id == account_id, Invoice.id.in_(invoice_ids)
        )
    )
    return {str(i): str(n) for i, n in rows.all()}
