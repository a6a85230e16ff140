"""Collection plans: checking and storing them, attaching them to invoices, pausing and
resuming an invoice's plan, and its schedule (from ``credira.plan.schedule``, the code the
worker's step creation runs too)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.account.settings import OutreachSettings
from credira.auth.principal import Principal
from credira.errors import Conflict, Forbidden, NotFound, ValidationFailed
from credira.event.types import EventType
from credira.invoice.state import SETTLED
from credira.kit.ids import check_id, is_valid_id, new_id
from credira.kit.metadata import merge_metadata
from credira.models import Account, CollectionPlan, Invoice
from credira.plan import repository, schedule, state
from credira.plan.schedule import CALL, EMAIL, Contact, Debtor, Run, RunStatus
from credira.plan.schemas import CollectionPlanCreate, CollectionPlanUpdate, PreviewIn, StepIn
from credira.plan.view import debtor_of, run_of, schedule_read, spec_of
from credira.plan.view import to_read as to_read
from credira.suppression import repository as suppressions


async def get(session: AsyncSession, account_id: str, plan_id: str) -> CollectionPlan:
    check_id("plan", plan_id)
    plan = await repository.get(session, account_id, plan_id)
    if plan is None:
        raise NotFound("Collection plan not found")
    return plan


# -- checking a plan -------------------------------------------------------------------------


# The last step of a plan comes at most this many days after the due date.
MAX_PLAN_DAYS = 730


def _invalid(index: int, name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        "Invalid collection plan", details=message, field=f"steps.{index}.{name}"
    )


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_steps(steps: list[StepIn]) -> None:
    """What a step's own schema cannot say: channels once each, a voice agent for calls, a
    window that ends after it starts, and steps in order, each on a later day than the one
    before (counted from the due date)."""
    previous_day: int | None = None
    for index, step in enumerate(steps):
        if len(set(step.channels)) != len(step.channels):
            raise _invalid(index, "channels", "List each channel once: call, email, or both")
        if CALL in step.channels and not step.voice_agent_id:
            raise _invalid(
                index,
                "voice_agent_id",
                "A step that calls needs a voice agent: set voice_agent_id to an agent of "
                'GET /v1/voice-agents, or leave "call" out of channels',
            )
        if step.window_end is not None and _minutes(step.window_end) <= _minutes(step.time):
            raise _invalid(
                index,
                "window_end",
                f"window_end ({step.window_end}) must be later the same day than time "
                f"({step.time})",
            )
        if step.anchor == "previous_step":
            if previous_day is None:
                raise _invalid(
                    index,
                    "anchor",
                    "The first step has no previous step: anchor it to due_date",
                )
            if step.offset_days < 1:
                raise _invalid(
                    index,
                    "offset_days",
                    "A step anchored to the previous step comes at least 1 day after it: "
                    f"set offset_days to 1 or more (not {step.offset_days})",
                )
            day = previous_day + step.offset_days
        else:
            day = step.offset_days
        if previous_day is not None and day <= previous_day:
            raise _invalid(
                index,
                "offset_days",
                f"Steps run in order, on different days: step {index} falls on day {day} from "
                f"the due date, not after step {index - 1} (day {previous_day}); give it an "
                "offset_days after the previous step's or reorder the steps",
            )
        if day > MAX_PLAN_DAYS:
            raise _invalid(
                index,
                "offset_days",
                f"Step {index} falls {day} days after the due date; a plan ends within "
                f"{MAX_PLAN_DAYS} days of it",
            )
        previous_day = day


async def _check_references(session: AsyncSession, account_id: str, steps: list[StepIn]) -> None:
    agents = {s.voice_agent_id for s in steps if s.voice_agent_id}
    templates = {s.template_id for s in steps if s.template_id}
    known_agents = await repository.agent_ids(
        session, account_id, {a for a in agents if is_valid_id("agent", a)}
    )
    known_templates = await repository.template_ids(
        session, account_id, {t for t in templates if is_valid_id("template", t)}
    )
    for index, step in enumerate(steps):
        if step.voice_agent_id and step.voice_agent_id not in known_agents:
            raise _invalid(
                index,
                "voice_agent_id",
                f"No voice agent {step.voice_agent_id} in this account: name one of "
                "GET /v1/voice-agents, or create it with POST /v1/voice-agents",
            )
        if step.template_id and step.template_id not in known_templates:
            raise _invalid(
                index,
                "template_id",
                f"No email template {step.template_id} in this account: name one of "
                "GET /v1/email-templates, or leave template_id out to use the default",
            )


def _check_may_reach(principal: Principal, steps: list[StepIn], action: str) -> None:
    """A plan makes callouts: as for a callout, one that calls needs calls:write, one that
    emails emails:write, both callouts:write."""
    needed = ["callouts:write"]
    if any(CALL in s.channels for s in steps):
        needed.append("calls:write")
    if any(EMAIL in s.channels for s in steps):
        needed.append("emails:write")
    for permission in needed:
        if not principal.can(permission):
            raise Forbidden(f"You don't have permission to {action} ({permission})")


def _stored_steps(steps: list[StepIn]) -> list[dict[str, Any]]:
    stored = []
    for step in steps:
        data = step.model_dump(mode="json")
        if step.min_amount_due is not None:
            data["min_amount_due"] = str(step.min_amount_due)
        if CALL not in step.channels:
            data["voice_agent_id"] = None
        stored.append(data)
    return stored


# -- plans -----------------------------------------------------------------------------------


async def create(
    session: AsyncSession,
    principal: Principal,
    account_id: str,
    body: CollectionPlanCreate,
    now: datetime,
) -> CollectionPlan:
    check_steps(body.steps)
    _check_may_reach(principal, body.steps, "create a plan that contacts debtors")
    await _check_references(session, account_id, body.steps)
    plan = CollectionPlan(
        id=new_id("plan"),
        account_id=account_id,
        name=body.name,
        description=body.description,
        steps=_stored_steps(body.steps),
        min_gap_hours=body.min_gap_hours,
        skip_weekends=body.skip_weekends,
        skip_holidays=body.skip_holidays,
        is_default=body.is_default,
        metadata_=body.metadata,
        created_by=principal.user_id,
        created_time=now,
        updated_time=now,
    )
    session.add(plan)
    await session.flush()
    if plan.is_default:
        await repository.clear_default(session, account_id, plan.id)
    state.plan_event(session, plan, EventType.PLAN_CREATED, now)
    return plan


async def update(
    session: AsyncSession,
    principal: Principal,
    plan: CollectionPlan,
    body: CollectionPlanUpdate,
    now: datetime,
) -> CollectionPlan:
    """Apply ``body``. What has run stays run: each invoice goes on at its next position, with
    the steps and times of the plan as it is now (the worker looks at them again at once)."""
    fields = body.model_dump(exclude_unset=True)
    if body.steps is not None:
        check_steps(body.steps)
        _check_may_reach(principal, body.steps, "change a plan's steps")
        await _check_references(session, plan.account_id, body.steps)
        plan.steps = _stored_steps(body.steps)
    for name in ("name", "min_gap_hours", "skip_weekends", "skip_holidays", "is_default"):
        if fields.get(name) is not None:
            setattr(plan, name, fields[name])
    if "description" in fields:
        plan.description = fields["description"]
    if fields.get("metadata") is not None:
        plan.metadata_ = merge_metadata(plan.metadata_, fields["metadata"])
    plan.updated_time = max(now, plan.updated_time)
    await session.flush()
    if plan.is_default:
        await repository.clear_default(session, plan.account_id, plan.id)
    await repository.look_again(session, plan.id, now)
    state.plan_event(session, plan, EventType.PLAN_UPDATED, now)
    return plan


async def delete(session: AsyncSession, plan: CollectionPlan, now: datetime) -> None:
    """The invoices following the plan stop (``plan deleted``); callouts it made stay."""
    for invoice in await repository.running_invoices(session, plan.id):
        state.stopped(session, invoice, "plan deleted", now)
    state.plan_event(session, plan, EventType.PLAN_DELETED, now)
    await session.flush()
    await session.delete(plan)
    await session.flush()


# -- invoices and their plan -----------------------------------------------------------------


def attach(session: AsyncSession, invoice: Invoice, plan: CollectionPlan, now: datetime) -> None:
    if invoice.status in SETTLED:
        state.attached(session, invoice, plan.id, 0, None, now, event=False)
        state.stopped(session, invoice, f"invoice {invoice.status}", now)
        return
    step, due = schedule.start(spec_of(plan), debtor_of(invoice), now)
    state.attached(session, invoice, plan.id, step, due, now)


def new_invoice_fields(plan: CollectionPlan, debtor: Debtor, now: datetime) -> dict[str, Any]:
    """The plan columns of a new open invoice attached to ``plan`` at ``now`` (for the bulk
    import, which writes them with the invoice)."""
    step, due = schedule.start(spec_of(plan), debtor, now)
    return state.initial(plan.id, step, due)


async def plan_to_attach(
    session: AsyncSession, principal: Principal, account_id: str, plan_id: str
) -> CollectionPlan:
    """The plan a request names for its invoices (as a callout's invoice: a malformed id is
    INVALID_REQUEST, another account's or a missing plan NOT_FOUND)."""
    check_id("plan", plan_id, "collection plan")
    plan = await repository.get(session, account_id, plan_id)
    if plan is None:
        raise NotFound("Collection plan not found: name one of GET /v1/collection-plans")
    if not principal.can("callouts:write"):
        raise Forbidden("You don't have permission to attach a collection plan (callouts:write)")
    return plan


async def on_invoice_created(
    session: AsyncSession,
    principal: Principal,
    invoice: Invoice,
    plan_id: str | None,
    now: datetime,
) -> None:
    """Attach the plan named (else the account's default, if any) to a new invoice."""
    if plan_id is not None:
        plan: CollectionPlan | None = await plan_to_attach(
            session, principal, invoice.account_id, plan_id
        )
    else:
        plan = await repository.default_for(session, invoice.account_id)
    if plan is not None:
        attach(session, invoice, plan, now)
        await session.flush()


async def on_invoice_updated(
    session: AsyncSession,
    principal: Principal,
    invoice: Invoice,
    fields: set[str],
    plan_id: str | None,
    now: datetime,
) -> None:
    """After an update: attach, change or detach the plan (``plan_id`` among ``fields``); a
    settled invoice's plan stops; a running one is looked at again (its due date, zone or
    phone may have changed)."""
    if "plan_id" in fields:
        if plan_id is None:
            if invoice.plan_id is not None:
                state.detached(session, invoice, now)
        elif plan_id != invoice.plan_id or invoice.plan_status is None:
            attach(
                session,
                invoice,
                await plan_to_attach(session, principal, invoice.account_id, plan_id),
                now,
            )
    if invoice.plan_status in repository.RUNNING:
        if invoice.status in SETTLED:
            state.stopped(session, invoice, f"invoice {invoice.status}", now)
        else:
            state.rescheduled(invoice, now)
    await session.flush()


async def contact_of(session: AsyncSession, invoice: Invoice) -> Contact:
    """What the contact rules know ahead for this invoice's debtor."""
    account = await session.get(Account, invoice.account_id)
    settings = OutreachSettings.from_json(account.settings if account else None)
    phone = bool(invoice.customer_phone) and bool(
        await suppressions.suppressed_among(
            session, "phone", {(invoice.account_id, invoice.customer_phone or "")}
        )
    )
    email = bool(invoice.customer_email) and bool(
        await suppressions.suppressed_among(
            session, "email", {(invoice.account_id, invoice.customer_email or "")}
        )
    )
    return Contact(
        phone_opted_out=phone, email_suppressed=email, observe_holidays=settings.observe_holidays
    )


async def invoice_schedule(
    session: AsyncSession, invoice: Invoice, now: datetime
) -> dict[str, Any]:
    """Every future contact of the invoice's plan (``GET /v1/invoices/{id}/schedule``)."""
    if invoice.plan_id is None:
        raise Conflict(
            "Invoice follows no collection plan: attach one with PUT /v1/invoices/{id} "
            "and a plan_id"
        )
    plan = await repository.get(session, invoice.account_id, invoice.plan_id)
    if plan is None:
        raise Conflict("The invoice's collection plan no longer exists")
    entries = schedule.upcoming(
        spec_of(plan), debtor_of(invoice), await contact_of(session, invoice), run_of(invoice), now
    )
    return schedule_read(plan.id, invoice.id, invoice.plan_status, entries)


def preview(plan: CollectionPlan, body: PreviewIn, now: datetime) -> dict[str, Any]:
    """The schedule of a hypothetical invoice attached now (nothing is stored)."""
    debtor = Debtor(
        due_date=body.due_date,
        amount=body.amount if body.amount is not None else Decimal("Infinity"),
        timezone=body.timezone,
        phone=body.phone,
        email=body.email,
        country=body.country,
    )
    at = body.now or now
    spec = spec_of(plan)
    run = Run(RunStatus.ACTIVE, schedule.first_step_after(spec, debtor, at))
    entries = schedule.upcoming(spec, debtor, Contact(), run, at)
    return schedule_read(plan.id, None, None, entries)


async def pause(
    session: AsyncSession,
    invoice: Invoice,
    until: datetime | None,
    reason: str | None,
    now: datetime,
) -> Invoice:
    if invoice.plan_status not in repository.RUNNING:
        raise Conflict(_not_running(invoice))
    # An ``until`` already past is a pause that has ended: the worker resumes it at once.
    state.paused(session, invoice, until, reason or "paused by request", now)
    await session.flush()
    return invoice


async def resume(session: AsyncSession, invoice: Invoice, now: datetime) -> Invoice:
    """Go on from now: the steps that came due during the pause are recorded as passed."""
    if invoice.plan_status != RunStatus.PAUSED.value:
        raise Conflict(
            f"Cannot resume a collection plan that is {invoice.plan_status}"
            if invoice.plan_status
            else _not_running(invoice)
        )
    plan = await repository.get(session, invoice.account_id, invoice.plan_id or "")
    if plan is None:
        state.stopped(session, invoice, "plan deleted", now)
        await session.flush()
        return invoice
    spec, debtor = spec_of(plan), debtor_of(invoice)
    start = invoice.plan_step or 0
    step = schedule.first_step_after(spec, debtor, now, start)
    slots = schedule.timeline(spec, debtor)
    for passed in range(start, step):
        state.step_came_due(
            session,
            invoice,
            passed,
            slots[passed].at,
            now,
            callout_id=None,
            reason=schedule.PAUSED,
            next_time=None,
        )
    state.resumed(session, invoice, step, schedule.wake_time(spec, debtor, step), now)
    await session.flush()
    return invoice


def _not_running(invoice: Invoice) -> str:
    if invoice.plan_id is None:
        return (
            "Invoice follows no collection plan: attach one with PUT /v1/invoices/{id} "
            "and a plan_id"
        )
    return f"The invoice's collection plan is {invoice.plan_status} ({invoice.plan_reason})"


def settled(session: AsyncSession, invoice: Invoice, now: datetime) -> None:
    """The invoice was paid, voided or disputed (by a call): its plan stops now rather than
    at its next step."""
    if invoice.plan_status in repository.RUNNING and invoice.status in SETTLED:
        state.stopped(session, invoice, f"invoice {invoice.status}", now)


def promise_pause(
    session: AsyncSession, invoice: Invoice, promised: datetime, now: datetime
) -> None:
    """A debtor promised to pay: the plan waits until the promised day begins (and goes on
    then if the invoice is still open: a broken promise). A longer pause by hand stays."""
    if invoice.plan_status == RunStatus.ACTIVE.value or (
        invoice.plan_status == RunStatus.PAUSED.value
        and invoice.plan_paused_until is not None
        and invoice.plan_paused_until < promised
    ):
        state.paused(session, invoice, promised, schedule.PROMISE_TO_PAY, now)
