"""The worker's part of collection plans: each invoice whose plan is due gets its step's
callout (or the record of why it got none), pauses, resumes, stops or completes, all decided
by ``credira.plan.schedule.next_action``, the code the schedule and the preview run too.

Invoices are claimed in batches, locked (``SKIP LOCKED`` on PostgreSQL, so concurrent
workers share them out); a step's record has a unique (invoice, plan, step) key, so a step
that a retried or concurrent transaction reaches again fails that transaction instead of
making a second callout.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.account.settings import OutreachSettings
from credira.callout import state as callout_state
from credira.callout.policy import PRIORITY_RANK
from credira.callout.state import PENDING, CalloutStatus
from credira.kit.clock import Clock
from credira.kit.ids import new_id
from credira.models import Account, CollectionPlan, Invoice
from credira.plan import repository, schedule, state
from credira.plan.schedule import CALL, EMAIL, Contact, RunStatus
from credira.plan.view import debtor_of, run_of, spec_of
from credira.suppression import repository as suppressions

log = structlog.get_logger("credira.plan")

BATCH = 100
# A step that runs only if the previous one did not reach the debtor waits for that one's
# outcome, looking again this often.
OUTCOME_WAIT = timedelta(minutes=5)
# An invoice whose plan step failed unexpectedly is tried again this much later.
RETRY_LATER = timedelta(minutes=10)


class PlanSteps:
    """Runs the due plan steps of every account, a batch per transaction."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        reads: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.reads = reads or sessionmaker
        self.clock = clock

    async def run_due(self) -> int:
        """One batch of due invoices; how many were looked at (0: none due)."""
        try:
            # Looked for without a writer's lock first: on SQLite a writing transaction waits
            # for every other, and most polls find nothing due.
            async with self.reads() as session:
                due = await repository.due_ids(session, self.clock.now(), BATCH)
            if not due:
                return 0
            try:
                return await self._batch(due)
            except (DBAPIError, OSError):
                raise
            except Exception:
                # A step reached twice (an IntegrityError, never with SKIP LOCKED claims) or an
                # invoice that cannot be moved: each alone, so that only that one fails.
                log.exception("plan.batch_failed")
                return await self._one_by_one(due)
        except (DBAPIError, OSError) as exc:
            log.warning("plan.run_failed", error=str(exc)[:300])
            return 0

    async def _one_by_one(self, due: list[str]) -> int:
        done = 0
        for invoice_id in due:
            try:
                done += await self._batch([invoice_id])
            except Exception:
                log.exception("plan.invoice_failed", invoice_id=invoice_id)
                await self._later(invoice_id)
        return done

    async def _later(self, invoice_id: str) -> None:
        """An invoice whose plan could not be moved is looked at again later, not at every
        poll before all the others."""
        try:
            async with self.sessionmaker() as session:
                await repository.look_later(session, invoice_id, self.clock.now() + RETRY_LATER)
                await session.commit()
        except Exception:
            log.exception("plan.defer_failed", invoice_id=invoice_id)

    async def _batch(self, ids: list[str]) -> int:
        async with self.sessionmaker() as session:
            now = self.clock.now()
            invoices = await repository.claim_due(session, now, ids)
            if not invoices:
                return 0
            plans = await repository.get_many(
                session, {i.plan_id for i in invoices if i.plan_id is not None}
            )
            contacts = await _contacts(session, invoices)
            for invoice in invoices:
                await advance(
                    session, invoice, plans.get(invoice.plan_id or ""), contacts[invoice.id], now
                )
            await session.commit()
            return len(invoices)


async def _contacts(session: AsyncSession, invoices: list[Invoice]) -> dict[str, Contact]:
    """What the contact rules know of each invoice's debtor, read for all at once."""
    phones = await suppressions.suppressed_among(
        session, "phone", {(i.account_id, i.customer_phone) for i in invoices if i.customer_phone}
    )
    emails = await suppressions.suppressed_among(
        session, "email", {(i.account_id, i.customer_email) for i in invoices if i.customer_email}
    )
    holidays: dict[str, bool] = {}
    for account_id in {i.account_id for i in invoices}:
        account = await session.get(Account, account_id)
        holidays[account_id] = OutreachSettings.from_json(
            account.settings if account else None
        ).observe_holidays
    return {
        i.id: Contact(
            phone_opted_out=(i.account_id, i.customer_phone or "") in phones,
            email_suppressed=(i.account_id, i.customer_email or "") in emails,
            observe_holidays=holidays[i.account_id],
        )
        for i in invoices
    }


async def advance(
    session: AsyncSession,
    invoice: Invoice,
    plan: CollectionPlan | None,
    contact: Contact,
    now: datetime,
) -> None:
    """Move one due invoice along its plan: at most one step runs; the invoice is left due
    again at the next thing that will happen to it."""
    if plan is None:
        state.stopped(session, invoice, "plan deleted", now)
        return
    spec = spec_of(plan)
    for _ in range(3):  # a resume is followed by what comes next
        debtor = debtor_of(invoice)
        action = schedule.next_action(spec, debtor, contact, run_of(invoice), now)
        if action.kind == "stop":
            state.stopped(session, invoice, action.reason or "stopped", now)
        elif action.kind == "complete":
            state.completed(session, invoice, now)
        elif action.kind == "wait":
            state.rescheduled(invoice, action.wake)
        elif action.kind == "pause":
            reason = action.reason or schedule.PAUSED
            if (
                invoice.plan_status == RunStatus.PAUSED.value
                and invoice.plan_paused_until == action.wake
            ):
                state.rescheduled(invoice, action.wake)
            else:
                state.paused(session, invoice, action.wake, reason, now)
        elif action.kind == "resume":
            slots = schedule.timeline(spec, debtor)
            for index in action.skipped:
                state.step_came_due(
                    session,
                    invoice,
                    index,
                    slots[index].at,
                    now,
                    callout_id=None,
                    reason=schedule.PAUSED,
                    next_time=None,
                )
            step = invoice.plan_step or 0
            state.resumed(session, invoice, step, schedule.wake_time(spec, debtor, step), now)
            continue
        elif action.kind == "run" and action.entry is not None:
            await _run_step(session, invoice, plan, spec, action.entry, now)
        return


async def _run_step(
    session: AsyncSession,
    invoice: Invoice,
    plan: CollectionPlan,
    spec: schedule.Plan,
    entry: schedule.Entry,
    now: datetime,
) -> None:
    """Step ``entry.index`` is due: its callout, or the record of why there is none."""
    debtor = debtor_of(invoice)
    next_time = schedule.wake_time(spec, debtor, entry.index + 1)
    blocked = entry.blocked
    if blocked is None and entry.conditional:
        previous = await repository.step_callout(session, invoice.id, plan.id, entry.index - 1)
        if previous is not None and previous.status in PENDING:
            # Its outcome is not known yet: look again soon (the step's time stays its own).
            state.rescheduled(invoice, now + OUTCOME_WAIT)
            return
        if previous is not None and previous.status == CalloutStatus.COMPLETED.value:
            blocked = schedule.PREVIOUS_REACHED
    if blocked is not None:
        state.step_came_due(
            session,
            invoice,
            entry.index,
            entry.at,
            now,
            callout_id=None,
            reason=blocked,
            next_time=next_time,
        )
        if next_time is None:
            state.completed(session, invoice, now)
        log.info("plan.step_skipped", invoice_id=invoice.id, step=entry.index, reason=blocked)
        return
    step = spec.steps[entry.index]
    metadata: dict[str, Any] = {
        **plan.metadata_,
        **step.metadata,
        "plan_id": plan.id,
        "plan_step": entry.index,
    }
    callout = callout_state.new(
        session,
        now,
        id=new_id("callout"),
        account_id=invoice.account_id,
        invoice_id=invoice.id,
        type=step.type,
        priority=step.priority,
        priority_rank=PRIORITY_RANK[step.priority],
        scheduled_time=entry.at,
        run_at=entry.at,
        attempt_count=0,
        origin="plan",
        consented=False,
        contact_name=invoice.customer_name,
        contact_email=invoice.customer_email,
        contact_phone=invoice.customer_phone,
        calls_enabled=CALL in entry.channels,
        emails_enabled=EMAIL in entry.channels,
        voice_agent_id=step.voice_agent_id if CALL in entry.channels else None,
        template_id=step.template_id if EMAIL in entry.channels else None,
        metadata_=metadata,
        created_by=plan.created_by,
    )
    reason = ", ".join(f"{d} (channel left out)" for d in entry.dropped) or None
    state.step_came_due(
        session,
        invoice,
        entry.index,
        entry.at,
        now,
        callout_id=callout.id,
        reason=reason,
        next_time=next_time,
    )
    if next_time is None:
        state.completed(session, invoice, now)
    log.info("plan.step_scheduled", invoice_id=invoice.id, step=entry.index, callout_id=callout.id)
