from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.kit.pagination import Page
from credira.models import Invoice


async def get(session: AsyncSession, account_id: str, invoice_id: str) -> Invoice | None:
    return await session.scalar(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.account_id == account_id)
    )


async def lock_all(session: AsyncSession, invoice_ids: Iterable[str]) -> dict[str, Invoice]:
    """The invoices, by id, locked until the transaction ends (``FOR UPDATE``; SQLite serialises
    writers anyway). Locked in id order, so that transactions locking overlapping sets cannot
    deadlock on them."""
    found = await session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(sorted(set(invoice_ids))))
        .order_by(Invoice.id)
        .with_for_update()
    )
    return {invoice.id: invoice for invoice in found}


async def lock(session: AsyncSession, invoice_id: str) -> Invoice | None:
    """The invoice, locked until the transaction ends (``FOR UPDATE``)."""
    return await session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())


async def exists(session: AsyncSession, account_id: str, invoice_id: str) -> bool:
    found = await session.scalar(
        select(Invoice.id).where(Invoice.id == invoice_id, Invoice.account_id == account_id)
    )
    return found is not None


async def number_taken(
    session: AsyncSession, account_id: str, number: str, except_id: str | None = None
) -> bool:
    query = select(Invoice.id).where(Invoice.account_id == account_id, Invoice.number == number)
    if except_id is not None:
        query = query.where(Invoice.id != except_id)
    return (await session.scalar(query)) is not None


async def list_invoices(
    session: AsyncSession,
    account_id: str,
    *,
    status: str | None,
    number: str | None,
    customer_email: str | None,
    page: Page,
) -> tuple[list[Invoice], bool, int]:
    conditions = [Invoice.account_id == account_id]
    if status is not None:
        conditions.append(Invoice.status == status)
    if number is not None:
        conditions.append(Invoice.number == number)
    if customer_email is not None:
        # Mailboxes are matched without regard to case, as mail systems do in practice.
        conditions.append(func.lower(Invoice.customer_email) == customer_email.lower())
    rows = list(
        (await session.scalars(page.apply(select(Invoice).where(*conditions), Invoice.id))).all()
    )
    items, more = page.split(rows)
    total = await session.scalar(select(func.count()).select_from(Invoice).where(*conditions))
    return items, more, int(total or 0)
