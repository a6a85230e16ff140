"""The invoice page: its whole story as one timeline from the event log (calls with their
transcripts and recordings, emails with opens and clicks, holds, plan steps), its future
schedule, and the actions the API offers on it: pause or resume its plan, mark it paid, add a
callout."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from credira.agent import repository as agent_repository
from credira.call import repository as call_repository
from credira.callout import service as callout_service
from credira.callout.schemas import CalloutCreate, CalloutType, Priority
from credira.dashboard import timeline
from credira.dashboard.web import (
    Viewer,
    back_to,
    done,
    form_value,
    page,
    render,
    router,
    url,
    utc_time,
)
from credira.errors import Conflict, ValidationFailed
from credira.event import repository as event_repository
from credira.event.repository import EventFilter
from credira.invoice import service as invoice_service
from credira.invoice.schemas import InvoiceUpdate
from credira.kit.pagination import Page
from credira.plan import service as plan_service

pages = router()

# The newest events the timeline shows (an invoice's whole story is rarely longer).
TIMELINE_EVENTS = 500
CALLS_SHOWN = 500


def _invalid(exc: ValidationError) -> ValidationFailed:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return ValidationFailed(f"{where}: {error['msg']}" if where else str(error["msg"]))


@pages.get("/invoices/{invoice_id}")
async def show_invoice(
    request: Request,
    invoice_id: str,
    viewer: Annotated[Viewer, Depends(page("invoices:read", "access this invoice"))],
) -> Response:
    """One invoice: facts, the timeline, the schedule ahead and the actions."""
    invoice = await invoice_service.get(viewer.session, viewer.account_id, invoice_id)
    entries: list[timeline.Entry] | None = None
    more = False
    if viewer.can("events:read"):
        where = EventFilter(types=set(), prefixes=set(), invoice_id=invoice.id)
        events, more, _ = await event_repository.list_events(
            viewer.session, viewer.account_id, where, limit=TIMELINE_EVENTS, starting_after=None
        )
        calls: dict[str, Any] = {}
        if viewer.can("calls:read"):
            found, _, _ = await call_repository.list_for_invoice(
                viewer.session, viewer.account_id, invoice.id, Page(CALLS_SHOWN, None)
            )
            calls = {c.id: c for c in found}
        entries = timeline.build(events, calls)
    schedule: dict[str, Any] | None = None
    schedule_note = None
    try:
        schedule = await plan_service.invoice_schedule(viewer.session, invoice, viewer.clock.now())
    except Conflict as exc:
        schedule_note = exc.message
    agents: list[Any] = []
    if viewer.can("voice_agents:read") and viewer.can("callouts:write"):
        agents, _, _ = await agent_repository.list_agents(
            viewer.session, viewer.account_id, "active", Page(200, None)
        )
    return render(
        request,
        "invoice.html",
        title=f"Invoice {invoice.number}",
        invoice=invoice,
        entries=entries,
        more_events=more,
        schedule=schedule,
        schedule_note=schedule_note,
        agents=agents,
        can_write=viewer.can("invoices:write"),
        can_add=viewer.can("callouts:write"),
        can_hear=viewer.can("calls:read"),
        callout_types=get_args(CalloutType),
        priorities=get_args(Priority),
        back=url(f"/invoices/{invoice.id}"),
    )


@pages.post("/invoices/{invoice_id}/pause")
async def pause_invoice(
    request: Request,
    invoice_id: str,
    viewer: Annotated[Viewer, Depends(page("invoices:write", "pause this invoice's plan"))],
) -> Response:
    """Pause the invoice's collection plan (``POST /v1/invoices/{id}/pause``)."""
    invoice = await invoice_service.get(viewer.session, viewer.account_id, invoice_id)
    reason = form_value(viewer.form, "reason")
    if reason is not None and len(reason) > 200:
        raise ValidationFailed("The reason is longer than 200 characters", field="reason")
    await plan_service.pause(viewer.session, invoice, None, reason, viewer.clock.now())
    await viewer.commit()
    viewer.runtime.wake_worker()
    return done(request, back_to(viewer.form, url(f"/invoices/{invoice_id}")))


@pages.post("/invoices/{invoice_id}/resume")
async def resume_invoice(
    request: Request,
    invoice_id: str,
    viewer: Annotated[Viewer, Depends(page("invoices:write", "resume this invoice's plan"))],
) -> Response:
    """Resume the invoice's plan from now (``POST /v1/invoices/{id}/resume``)."""
    invoice = await invoice_service.get(viewer.session, viewer.account_id, invoice_id)
    await plan_service.resume(viewer.session, invoice, viewer.clock.now())
    await viewer.commit()
    viewer.runtime.wake_worker()
    return done(request, back_to(viewer.form, url(f"/invoices/{invoice_id}")))


@pages.post("/invoices/{invoice_id}/paid")
async def mark_paid(
    request: Request,
    invoice_id: str,
    viewer: Annotated[Viewer, Depends(page("invoices:write", "update this invoice"))],
) -> Response:
    """Mark the invoice paid (``PUT /v1/invoices/{id}`` with status ``paid``): its pending
    callouts are cancelled and its plan stops."""
    invoice = await invoice_service.get(viewer.session, viewer.account_id, invoice_id)
    body = InvoiceUpdate.model_validate({"status": "paid"})
    now = viewer.clock.now()
    public_url = viewer.runtime.settings.public_url
    invoice = await invoice_service.update(viewer.session, invoice, body, now, public_url)
    await plan_service.on_invoice_updated(
        viewer.session, viewer.principal, invoice, body.model_fields_set, body.plan_id, now
    )
    await viewer.commit()
    return done(request, back_to(viewer.form, url(f"/invoices/{invoice_id}")))


@pages.post("/invoices/{invoice_id}/callouts")
async def add_callout(
    request: Request,
    invoice_id: str,
    viewer: Annotated[Viewer, Depends(page("callouts:write", "create callouts"))],
) -> Response:
    """Schedule a callout about the invoice (``POST /v1/callouts``)."""
    form = viewer.form
    fields: dict[str, Any] = {
        "invoice_id": invoice_id,
        "type": form_value(form, "type") or "payment_reminder",
        "priority": form_value(form, "priority") or "medium",
        "actions": {
            "calls_enabled": form.get("calls_enabled") == "on",
            "emails_enabled": form.get("emails_enabled") == "on",
        },
    }
    if form_value(form, "scheduled_time") is not None:
        fields["scheduled_time"] = utc_time(form_value(form, "scheduled_time"))
    agent = form_value(form, "voice_agent_id")
    if agent is not None:
        fields["actions"]["voice_agent_id"] = agent
    try:
        body = CalloutCreate.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None
    callout = await callout_service.create(
        viewer.session, viewer.principal, viewer.account_id, body, viewer.clock.now()
    )
    await viewer.commit()
    viewer.runtime.wake_worker()
    return done(request, url(f"/callouts/{callout.id}"))
