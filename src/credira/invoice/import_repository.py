"""All SQL of the invoice import: invoices by number, and the import jobs' queue."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, String, any_, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import dialect_name
from credira.invoice.import_job import ImportStatus
from credira.models import Account, ImportJob, Invoice

_NUMBERS = ARRAY(String(64))
_CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")


async def by_numbers(
    session: AsyncSession, account_id: str, numbers: Collection[str]
) -> dict[str, Invoice]:
    """The account's invoices among ``numbers``, by number, locked until the transaction
    ends (``FOR UPDATE``; SQLite serialises writers)."""
    if not numbers:
        return {}
    wanted: ColumnElement[bool]
    if dialect_name(session) == "postgresql":
        # Planned for these numbers, not generically: a generic plan (a prepared statement's,
        # from its sixth run) compares every number with each of the account's invoices in
        # turn, a second a chunk at 20,000 invoices; planned with the values, it hashes them.
        await session.execute(_CUSTOM_PLANS)
        wanted = Invoice.number == any_(bindparam("numbers", list(numbers), type_=_NUMBERS))
    else:
        wanted = Invoice.number.in_(numbers)
    rows = await session.scalars(
        select(Invoice)
        .where(Invoice.account_id == account_id, wanted)
        .order_by(Invoice.id)
        .with_for_update()
    )
    return {invoice.number: invoice for invoice in rows}


async def get(session: AsyncSession, account_id: str, job_id: str) -> ImportJob | None:
    return await session.scalar(
        select(ImportJob).where(ImportJob.id == job_id, ImportJob.account_id == account_id)
    )


async def lock(session: AsyncSession, job_id: str) -> ImportJob | None:
    return await session.scalar(
        select(ImportJob)
        .where(ImportJob.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def claimable(session: AsyncSession, now: datetime, *, lock: bool = True) -> ImportJob | None:
    """The oldest job waiting, or running under a lease that ran out (its worker stopped),
    locked; concurrent workers on PostgreSQL pass over it (``SKIP LOCKED``)."""
    query = (
        select(ImportJob)
        .where(
            or_(
                ImportJob.status == ImportStatus.QUEUED.value,
                (ImportJob.status == ImportStatus.RUNNING.value) & (ImportJob.lease_expires < now),
            )
        )
        .order_by(ImportJob.id)
        .limit(1)
    )
    if lock and dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return await session.scalar(query.execution_options(populate_existing=True))


async def only_account(session: AsyncSession) -> str | None:
    """The database's one account, None when it holds none or several."""
    rows = list((await session.scalars(select(Account.id).order_by(Account.id).limit(2))).all())
    return rows[0] if len(rows) == 1 else None
