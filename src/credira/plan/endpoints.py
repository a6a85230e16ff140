"""Collection plans, and an invoice's plan: its schedule, pausing and resuming."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import Deleted, errors_for, listing, reply
from credira.invoice import service as invoice_service
from credira.invoice.schemas import InvoiceRead
from credira.kit.clock import format_time
from credira.kit.pagination import Page
from credira.plan import repository, service
from credira.plan.schemas import (
    CollectionPlanCreate,
    CollectionPlanRead,
    CollectionPlanUpdate,
    PauseIn,
    PreviewIn,
    ScheduleRead,
)

router = APIRouter(prefix="/collection-plans", tags=["Collection plans"])
invoices = APIRouter(prefix="/invoices", tags=["Collection plans"])

_PLAN_ERRORS = (
    "Bad steps are VALIDATION_ERROR naming the field (``steps.<n>.<name>``) with what to fix: "
    "a voice agent or email template not in the account, steps out of order or on the same "
    "day, an offset or time out of range, a call step without a voice agent."
)


@router.post(
    "",
    status_code=201,
    summary="Create Collection Plan",
    responses={**reply(CollectionPlanRead, 201), **errors_for(400, 401, 403, 409, 422)},
)
async def create_plan(
    body: CollectionPlanCreate,
    ctx: Annotated[Ctx, Depends(require("plans:write", "create collection plans"))],
) -> JSONResponse:
    """Create a collection plan: ordered steps, each ``offset_days`` from the due date
    (negative: before) or from the previous step, at a local ``time`` (and optional
    ``window_end``) in the debtor's zone, by call, email or both. A plan that calls needs
    ``calls:write``, one that emails ``emails:write``, both ``callouts:write``."""
    plan = await service.create(ctx.session, ctx.principal, ctx.account_id, body, ctx.clock.now())
    return await respond(
        ctx,
        service.to_read(plan),
        status=201,
        message="Collection plan created successfully",
        version=plan.version,
    )


create_plan.__doc__ = (create_plan.__doc__ or "") + _PLAN_ERRORS


@router.get(
    "",
    summary="List Collection Plans",
    responses={**listing(CollectionPlanRead, "collection_plans"), **errors_for(400, 401, 403)},
)
async def list_plans(
    ctx: Annotated[Ctx, Depends(require("plans:read", "list collection plans"))],
    page: Annotated[Page, Depends(page_params("plan"))],
) -> JSONResponse:
    """The caller's collection plans, oldest first."""
    items, more, total = await repository.list_plans(ctx.session, ctx.account_id, page)
    return await respond(
        ctx, [service.to_read(p) for p in items], total_collection_plans=total, has_more=more
    )


@router.get(
    "/{plan_id}",
    summary="Get Collection Plan",
    responses={**reply(CollectionPlanRead), **errors_for(400, 401, 403, 404)},
)
async def get_plan(
    plan_id: str,
    ctx: Annotated[Ctx, Depends(require("plans:read", "access this collection plan"))],
) -> JSONResponse:
    """One collection plan of the caller's account."""
    plan = await service.get(ctx.session, ctx.account_id, plan_id)
    return await respond(ctx, service.to_read(plan), version=plan.version)


@router.put(
    "/{plan_id}",
    summary="Update Collection Plan",
    responses={**reply(CollectionPlanRead), **errors_for(400, 401, 403, 404, 412, 422)},
)
async def update_plan(
    plan_id: str,
    body: CollectionPlanUpdate,
    ctx: Annotated[Ctx, Depends(require("plans:write", "update this collection plan"))],
) -> JSONResponse:
    """Update a plan. Only what has not run changes: each invoice keeps the steps it has
    been through and goes on at its next position in the new ``steps``."""
    plan = await service.get(ctx.session, ctx.account_id, plan_id)
    current_version = plan.version
    plan = await service.update(ctx.session, ctx.principal, plan, body, ctx.clock.now())
    check_if_match(ctx, current_version)
    return await respond(
        ctx,
        service.to_read(plan),
        message="Collection plan updated successfully",
        version=plan.version,
    )


update_plan.__doc__ = (update_plan.__doc__ or "") + " " + _PLAN_ERRORS


@router.delete(
    "/{plan_id}",
    summary="Delete Collection Plan",
    responses={
        **reply(Deleted, name="CollectionPlanDeletedReply"),
        **errors_for(400, 401, 403, 404),
    },
)
async def delete_plan(
    plan_id: str,
    ctx: Annotated[Ctx, Depends(require("plans:write", "delete this collection plan"))],
) -> JSONResponse:
    """Delete a plan: the invoices following it stop it (``plan deleted``); the callouts it
    already made stay."""
    plan = await service.get(ctx.session, ctx.account_id, plan_id)
    await service.delete(ctx.session, plan, ctx.clock.now())
    data = {"id": plan_id, "deleted": True, "deleted_time": format_time(ctx.clock.now())}
    return await respond(ctx, data, message="Collection plan deleted successfully")


@router.post(
    "/{plan_id}/preview",
    summary="Preview Collection Plan",
    responses={**reply(ScheduleRead, name="PlanPreviewReply"), **errors_for(400, 401, 403, 404)},
)
async def preview_plan(
    plan_id: str,
    body: PreviewIn,
    ctx: Annotated[Ctx, Depends(require("plans:read", "preview this collection plan"))],
) -> JSONResponse:
    """Every contact the plan would make for a hypothetical invoice (due date, zone, phone,
    email, country, amount) attached now (or at ``now``), computed by the code the worker
    runs; nothing is stored."""
    plan = await service.get(ctx.session, ctx.account_id, plan_id)
    return await respond(ctx, service.preview(plan, body, ctx.clock.now()))


@invoices.get(
    "/{invoice_id}/schedule",
    summary="Get Invoice Schedule",
    responses={**reply(ScheduleRead), **errors_for(400, 401, 403, 404, 409)},
)
async def invoice_schedule(
    invoice_id: str,
    ctx: Annotated[Ctx, Depends(require("invoices:read", "access this invoice"))],
) -> JSONResponse:
    """Every future contact of the invoice's collection plan: its time in UTC and in the
    debtor's zone, channels, step, and the rule that moved (weekend, holiday, minimum gap,
    calling window) or blocks it (a pause, a promise, an opt-out, a condition). An invoice
    following no plan is ``CONFLICT``."""
    invoice = await invoice_service.get(ctx.session, ctx.account_id, invoice_id)
    data = await service.invoice_schedule(ctx.session, invoice, ctx.clock.now())
    return await respond(ctx, data)


@invoices.post(
    "/{invoice_id}/pause",
    summary="Pause Invoice Plan",
    responses={
        **reply(InvoiceRead, name="InvoicePausedReply"),
        **errors_for(400, 401, 403, 404, 409),
    },
)
async def pause_invoice(
    invoice_id: str,
    body: PauseIn,
    ctx: Annotated[Ctx, Depends(require("invoices:write", "pause this invoice's plan"))],
) -> JSONResponse:
    """Pause the invoice's collection plan, until ``until`` or until resumed. Steps that come
    due meanwhile are passed (recorded as skipped, ``paused``)."""
    invoice = await invoice_service.get(ctx.session, ctx.account_id, invoice_id)
    invoice = await service.pause(ctx.session, invoice, body.until, body.reason, ctx.clock.now())
    return await respond(
        ctx,
        invoice_service.to_read(invoice),
        message="Collection plan paused",
        version=invoice.version,
    )


@invoices.post(
    "/{invoice_id}/resume",
    summary="Resume Invoice Plan",
    responses={
        **reply(InvoiceRead, name="InvoiceResumedReply"),
        **errors_for(400, 401, 403, 404, 409),
    },
)
async def resume_invoice(
    invoice_id: str,
    ctx: Annotated[Ctx, Depends(require("invoices:write", "resume this invoice's plan"))],
) -> JSONResponse:
    """Resume a paused plan from now: the steps that came due during the pause are recorded
    as passed, the next one runs at its time."""
    invoice = await invoice_service.get(ctx.session, ctx.account_id, invoice_id)
    invoice = await service.resume(ctx.session, invoice, ctx.clock.now())
    ctx.runtime.wake_worker()
    return await respond(
        ctx,
        invoice_service.to_read(invoice),
        message="Collection plan resumed",
        version=invoice.version,
    )
