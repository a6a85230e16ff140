"""A plan as the API shows it, and the pure scheduler's view of a plan, an invoice and its
run (``credira.plan.schedule``)."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from credira.kit.clock import format_time
from credira.models import CollectionPlan, Invoice
from credira.plan import schedule
from credira.plan.schedule import Anchor, Debtor, Plan, Run, RunStatus, Step


def to_read(plan: CollectionPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "account_id": plan.account_id,
        "name": plan.name,
        "description": plan.description,
        "steps": [_step_read(step) for step in plan.steps],
        "min_gap_hours": plan.min_gap_hours,
        "skip_weekends": plan.skip_weekends,
        "skip_holidays": plan.skip_holidays,
        "is_default": plan.is_default,
        "metadata": plan.metadata_,
        "created_time": format_time(plan.created_time),
        "updated_time": format_time(plan.updated_time),
    }


_STEP_DEFAULTS: dict[str, Any] = {
    "anchor": "due_date",
    "time": "10:00",
    "window_end": None,
    "voice_agent_id": None,
    "template_id": None,
    "priority": "medium",
    "type": "payment_reminder",
    "min_amount_due": None,
    "only_if_previous_unreached": False,
    "metadata": {},
}


def _step_read(step: dict[str, Any]) -> dict[str, Any]:
    return {
        "offset_days": step["offset_days"],
        **{key: step.get(key, default) for key, default in _STEP_DEFAULTS.items()},
        "channels": list(step["channels"]),
    }


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def step_spec(step: dict[str, Any]) -> Step:
    """A stored step (as ``StepIn`` dumps it, amounts as strings) for the scheduler."""
    amount = step.get("min_amount_due")
    end = step.get("window_end")
    return Step(
        offset_days=int(step["offset_days"]),
        anchor=Anchor(step.get("anchor", "due_date")),
        at=_clock_time(step.get("time", "10:00")),
        window_end=_clock_time(end) if end else None,
        channels=frozenset(step["channels"]),
        voice_agent_id=step.get("voice_agent_id"),
        template_id=step.get("template_id"),
        priority=step.get("priority", "medium"),
        type=step.get("type", "payment_reminder"),
        min_amount_due=Decimal(amount) if amount is not None else None,
        only_if_previous_unreached=bool(step.get("only_if_previous_unreached", False)),
        metadata=dict(step.get("metadata") or {}),
    )


_SPECS: dict[tuple[str, int, Any], Plan] = {}


def spec_of(plan: CollectionPlan) -> Plan:
    """The scheduler's plan, kept per plan version (an import schedules thousands of invoices
    on one plan)."""
    if plan.version is None:
        return _spec(plan)
    key = (plan.id, plan.version, plan.updated_time)
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) > 256:
            _SPECS.clear()
        spec = _SPECS[key] = _spec(plan)
    return spec


def _spec(plan: CollectionPlan) -> Plan:
    return Plan(
        id=plan.id,
        steps=tuple(step_spec(step) for step in plan.steps),
        min_gap=timedelta(hours=plan.min_gap_hours),
        skip_weekends=plan.skip_weekends,
        skip_holidays=plan.skip_holidays,
        metadata=dict(plan.metadata_),
    )


def debtor_of(invoice: Invoice) -> Debtor:
    return Debtor(
        due_date=invoice.due_date,
        amount=invoice.amount,
        timezone=invoice.customer_timezone,
        phone=invoice.customer_phone,
        email=invoice.customer_email,
        status=invoice.status,
        promised_date=invoice.promised_date,
    )


def run_of(invoice: Invoice) -> Run:
    return Run(
        status=RunStatus(invoice.plan_status or RunStatus.ACTIVE),
        next_step=invoice.plan_step or 0,
        paused_until=invoice.plan_paused_until,
    )


def entry_read(item: schedule.Entry) -> dict[str, Any]:
    return {
        "step": item.index,
        "time": format_time(item.at),
        "local_time": item.at.astimezone(item.zone).isoformat(timespec="seconds"),
        "timezone": item.zone.key,
        "channels": list(item.channels),
        "moved_by": list(item.moved_by),
        "blocked": item.blocked,
        "conditional": item.conditional,
        "call_time": format_time(item.call_time),
        "call_rule": item.call_rule,
        "dropped": list(item.dropped),
    }


def schedule_read(
    plan_id: str, invoice_id: str | None, status: str | None, entries: list[schedule.Entry]
) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "plan_id": plan_id,
        "status": status,
        "entries": [entry_read(item) for item in entries],
    }


def step_run_read(run: Any) -> dict[str, Any]:
    """A step that came due (``PlanStepRun``), as its event shows it."""
    return {
        "id": run.id,
        "invoice_id": run.invoice_id,
        "plan_id": run.plan_id,
        "step": run.step_index,
        "due_time": format_time(run.due_time),
        "outcome": run.outcome,
        "reason": run.reason,
        "callout_id": run.callout_id,
        "created_time": format_time(run.created_time),
    }


def invoice_plan_read(invoice: Invoice) -> dict[str, Any] | None:
    """The invoice's place in its collection plan, as the invoice shows it (None without)."""
    if invoice.plan_status is None:
        return None
    return {
        "status": invoice.plan_status,
        "current_step": invoice.plan_step or 0,
        "next_step_time": format_time(invoice.plan_next_time),
        "paused_until": format_time(invoice.plan_paused_until),
        "reason": invoice.plan_reason,
    }
