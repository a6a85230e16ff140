"""An invoice's run through its collection plan: the one writer of ``Invoice.plan_*``, each
change with its event (``invoice.plan_started``, ``plan_paused``, ``plan_resumed``,
``plan_stopped``, ``plan_completed``), and of the record of each step that came due
(``plan_step.scheduled`` with the callout made for it, or ``plan_step.skipped`` with why).

    (none) -> active <-> paused
              active | paused -> stopped | completed     (final for this attachment)

Free of SQL and HTTP: the caller passes the time and the session whose transaction carries
the change (events are written at its commit, see ``credira.event.log``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.event.log import record
from credira.event.types import EventType
from credira.invoice.view import to_read as invoice_read
from credira.kit.ids import new_id
from credira.models import CollectionPlan, Invoice, PlanStepRun
from credira.plan.schedule import RunStatus
from credira.plan.view import step_run_read, to_read

AnySession = AsyncSession | Session


def _touch(invoice: Invoice, now: datetime) -> None:
    invoice.updated_time = max(now, invoice.updated_time or now, invoice.created_time)


def _event(session: AnySession, invoice: Invoice, type_: EventType, now: datetime) -> None:
    record(
        session,
        type_,
        account_id=invoice.account_id,
        object_id=invoice.id,
        invoice_id=invoice.id,
        data=invoice_read(invoice),
        now=now,
    )


def attached(
    session: AnySession,
    invoice: Invoice,
    plan_id: str,
    step: int,
    next_time: datetime | None,
    now: datetime,
    *,
    event: bool = True,
) -> None:
    """The invoice follows ``plan_id`` from position ``step`` (the steps before it had passed
    when it was attached), next due at ``next_time`` (None: no step left, completed)."""
    invoice.plan_id = plan_id
    invoice.plan_step = step
    invoice.plan_paused_until = None
    invoice.plan_reason = None
    if next_time is None:
        invoice.plan_status = RunStatus.COMPLETED.value
        invoice.plan_next_time = None
    else:
        invoice.plan_status = RunStatus.ACTIVE.value
        invoice.plan_next_time = next_time
    _touch(invoice, now)
    if event:
        _event(session, invoice, EventType.INVOICE_PLAN_STARTED, now)


def initial(plan_id: str, step: int, next_time: datetime | None) -> dict[str, Any]:
    """The plan columns of a new invoice that starts following ``plan_id`` at ``step`` (its
    ``invoice.created`` event shows them, in place of an ``invoice.plan_started``)."""
    done = next_time is None
    return {
        "plan_id": plan_id,
        "plan_status": (RunStatus.COMPLETED if done else RunStatus.ACTIVE).value,
        "plan_step": step,
        "plan_next_time": next_time,
        "plan_paused_until": None,
        "plan_reason": None,
    }


def detached(session: AnySession, invoice: Invoice, now: datetime) -> None:
    """The invoice follows no plan any more (its step records stay)."""
    invoice.plan_id = None
    invoice.plan_reason = "detached"
    invoice.plan_status = RunStatus.STOPPED.value
    invoice.plan_next_time = None
    invoice.plan_paused_until = None
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_PLAN_STOPPED, now)


def rescheduled(invoice: Invoice, next_time: datetime | None) -> None:
    """The next step's time changed (the plan or the invoice was edited): no event, the
    change that caused it has its own."""
    invoice.plan_next_time = next_time


def paused(
    session: AnySession,
    invoice: Invoice,
    until: datetime | None,
    reason: str,
    now: datetime,
) -> None:
    """Held until ``until`` (None: until resumed by hand), for ``reason``."""
    invoice.plan_status = RunStatus.PAUSED.value
    invoice.plan_paused_until = until
    invoice.plan_next_time = until
    invoice.plan_reason = reason
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_PLAN_PAUSED, now)


def resumed(
    session: AnySession, invoice: Invoice, step: int, next_time: datetime | None, now: datetime
) -> None:
    """Going on from position ``step`` (the steps due during the pause were passed)."""
    invoice.plan_status = RunStatus.ACTIVE.value
    invoice.plan_paused_until = None
    invoice.plan_reason = None
    invoice.plan_step = step
    invoice.plan_next_time = next_time if next_time is not None else now
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_PLAN_RESUMED, now)


def stopped(session: AnySession, invoice: Invoice, reason: str, now: datetime) -> None:
    """Final for this attachment: the invoice was settled, or the plan deleted."""
    invoice.plan_status = RunStatus.STOPPED.value
    invoice.plan_next_time = None
    invoice.plan_paused_until = None
    invoice.plan_reason = reason
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_PLAN_STOPPED, now)


def completed(session: AnySession, invoice: Invoice, now: datetime) -> None:
    invoice.plan_status = RunStatus.COMPLETED.value
    invoice.plan_next_time = None
    invoice.plan_reason = None
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_PLAN_COMPLETED, now)


def step_came_due(
    session: AnySession,
    invoice: Invoice,
    step: int,
    due_time: datetime,
    now: datetime,
    *,
    callout_id: str | None,
    reason: str | None,
    next_time: datetime | None,
) -> PlanStepRun:
    """Step ``step`` came due: a callout was made for it (``callout_id``), or none, for
    ``reason``. The invoice moves on to the next step, due at ``next_time``. The record's
    unique (invoice, plan, step) key refuses a second one at the commit."""
    assert invoice.plan_id is not None
    run = PlanStepRun(
        id=new_id("plan_step"),
        account_id=invoice.account_id,
        invoice_id=invoice.id,
        plan_id=invoice.plan_id,
        step_index=step,
        due_time=due_time,
        outcome="scheduled" if callout_id is not None else "skipped",
        reason=reason,
        callout_id=callout_id,
        created_time=now,
    )
    session.add(run)
    invoice.plan_step = step + 1
    invoice.plan_next_time = next_time
    record(
        session,
        EventType.PLAN_STEP_SCHEDULED if callout_id is not None else EventType.PLAN_STEP_SKIPPED,
        account_id=invoice.account_id,
        object_id=run.id,
        invoice_id=invoice.id,
        callout_id=callout_id,
        data=step_run_read(run),
        now=now,
    )
    return run


def plan_event(session: AnySession, plan: CollectionPlan, type_: EventType, now: datetime) -> None:
    """A plan was created, updated or deleted."""
    record(
        session, type_, account_id=plan.account_id, object_id=plan.id, data=to_read(plan), now=now
    )
