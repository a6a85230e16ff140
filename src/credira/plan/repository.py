"""All SQL about collection plans, the invoices following them and their steps' records."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.db.dialect import dialect_name
from credira.kit.pagination import Page
from credira.models import Callout, CollectionPlan, EmailTemplate, Invoice, PlanStepRun, VoiceAgent
from credira.plan.schedule import RunStatus

RUNNING = (RunStatus.ACTIVE.value, RunStatus.PAUSED.value)


async def get(session: AsyncSession, account_id: str, plan_id: str) -> CollectionPlan | None:
    return await session.scalar(
        select(CollectionPlan).where(
            CollectionPlan.id == plan_id, CollectionPlan.account_id == account_id
        )
    )


async def get_many(session: AsyncSession, plan_ids: Collection[str]) -> dict[str, CollectionPlan]:
    if not plan_ids:
        return {}
    rows = await session.scalars(select(CollectionPlan).where(CollectionPlan.id.in_(plan_ids)))
    return {plan.id: plan for plan in rows}


async def default_for(session: AsyncSession, account_id: str) -> CollectionPlan | None:
    return await session.scalar(
        select(CollectionPlan)
        .where(CollectionPlan.account_id == account_id, CollectionPlan.is_default.is_(True))
        .order_by(CollectionPlan.id)
        .limit(1)
    )


async def clear_default(session: AsyncSession, account_id: str, except_id: str) -> None:
    """One default plan per account: the others lose the mark."""
    await session.execute(
        update(CollectionPlan)
        .where(
            CollectionPlan.account_id == account_id,
            CollectionPlan.id != except_id,
            CollectionPlan.is_default.is_(True),
        )
        .values(is_default=False, version=CollectionPlan.version + 1)
        .execution_options(synchronize_session=False)
    )


async def list_plans(
    session: AsyncSession, account_id: str, page: Page
) -> tuple[list[CollectionPlan], bool, int]:
    condition = CollectionPlan.account_id == account_id
    rows = list(
        (
            await session.scalars(
                page.apply(select(CollectionPlan).where(condition), CollectionPlan.id)
            )
        ).all()
    )
    items, more = page.split(rows)
    total = await session.scalar(select(func.count()).select_from(CollectionPlan).where(condition))
    return items, more, int(total or 0)


async def look_again(session: AsyncSession, plan_id: str, now: datetime) -> None:
    """The plan changed: its running invoices are due for the worker to look at now (their
    next step may have moved earlier or later)."""
    await session.execute(
        update(Invoice)
        .where(Invoice.plan_id == plan_id, Invoice.plan_status.in_(RUNNING))
        .values(plan_next_time=now)
        .execution_options(synchronize_session=False)
    )


async def running_invoices(session: AsyncSession, plan_id: str) -> list[Invoice]:
    """The invoices following the plan, locked in id order."""
    rows = await session.scalars(
        select(Invoice)
        .where(Invoice.plan_id == plan_id, Invoice.plan_status.in_(RUNNING))
        .order_by(Invoice.id)
        .with_for_update()
    )
    return list(rows.all())


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        Invoice.plan_status.in_(RUNNING),
        Invoice.plan_next_time.is_not(None),
        Invoice.plan_next_time <= now,
    ]


async def due_ids(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    """Up to ``limit`` invoices whose plan is due (its next step's time, or its pause's end),
    longest due first (the plan due index), read without locking."""
    rows = await session.scalars(
        select(Invoice.id).where(*_due(now)).order_by(Invoice.plan_next_time).limit(limit)
    )
    return list(rows.all())


async def claim_due(session: AsyncSession, now: datetime, ids: Collection[str]) -> list[Invoice]:
    """Those of ``ids`` still due, locked until the transaction ends, in id order; concurrent
    workers on PostgreSQL pass over each other's (``SKIP LOCKED``), SQLite serialises
    writers."""
    query = select(Invoice).where(Invoice.id.in_(ids), *_due(now)).order_by(Invoice.id)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = await session.scalars(query.execution_options(populate_existing=True))
    return list(rows.all())


async def look_later(session: AsyncSession, invoice_id: str, at: datetime) -> None:
    await session.execute(
        update(Invoice)
        .where(Invoice.id == invoice_id, Invoice.plan_status.in_(RUNNING))
        .values(plan_next_time=at)
        .execution_options(synchronize_session=False)
    )


async def step_callout(
    session: AsyncSession, invoice_id: str, plan_id: str, step: int
) -> Callout | None:
    """The callout made for a step of the invoice's plan, if one was."""
    callout_id = await session.scalar(
        select(PlanStepRun.callout_id).where(
            PlanStepRun.invoice_id == invoice_id,
            PlanStepRun.plan_id == plan_id,
            PlanStepRun.step_index == step,
        )
    )
    if callout_id is None:
        return None
    return await session.get(Callout, callout_id)


async def step_ran(session: AsyncSession, invoice_id: str, plan_id: str, step: int) -> bool:
    found = await session.scalar(
        select(PlanStepRun.id).where(
            PlanStepRun.invoice_id == invoice_id,
            PlanStepRun.plan_id == plan_id,
            PlanStepRun.step_index == step,
        )
    )
    return found is not None


async def agent_ids(session: AsyncSession, account_id: str, ids: Collection[str]) -> set[str]:
    if not ids:
        return set()
    rows = await session.scalars(
        select(VoiceAgent.id).where(VoiceAgent.account_id == account_id, VoiceAgent.id.in_(ids))
    )
    return set(rows)


async def template_ids(session: AsyncSession, account_id: str, ids: Collection[str]) -> set[str]:
    if not ids:
        return set()
    rows = await session.scalars(
        select(EmailTemplate.id).where(
            EmailTemplate.account_id == account_id, EmailTemplate.id.in_(ids)
        )
    )
    return set(rows)
