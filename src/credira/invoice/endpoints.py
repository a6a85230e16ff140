from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import errors_for, listing, reply
from credira.invoice import repository, service
from credira.invoice.import_endpoints import router as import_router
from credira.invoice.schemas import InvoiceCreate, InvoiceRead, InvoiceStatus, InvoiceUpdate
from credira.kit.pagination import Page
from credira.kit.validation import normalize_email
from credira.plan import service as plan_service

router = APIRouter(prefix="/invoices", tags=["Invoices"])
# The import's routes first: /invoices/import is no invoice id.
router.include_router(import_router)


@router.post(
    "",
    status_code=201,
    summary="Create Invoice",
    responses={**reply(InvoiceRead, 201), **errors_for(400, 401, 403, 404, 409, 422)},
)
async def create_invoice(
    body: InvoiceCreate,
    ctx: Annotated[Ctx, Depends(require("invoices:write", "create invoices"))],
) -> JSONResponse:
    """Record an unpaid invoice and its customer. ``amount`` is kept exact (decimal string or
    number, at most the currency's decimal places); ``number`` is unique per account.
    ``plan_id`` attaches a collection plan (default: the account's default plan, if any)."""
    invoice = await service.create(
        ctx.session, ctx.principal, ctx.account_id, body, ctx.clock.now()
    )
    await plan_service.on_invoice_created(
        ctx.session, ctx.principal, invoice, body.plan_id, ctx.clock.now()
    )
    return await respond(
        ctx,
        service.to_read(invoice),
        status=201,
        message="Invoice created successfully",
        version=invoice.version,
    )


@router.get(
    "",
    summary="List Invoices",
    responses={**listing(InvoiceRead, "invoices"), **errors_for(400, 401, 403, 422)},
)
async def list_invoices(
    ctx: Annotated[Ctx, Depends(require("invoices:read", "list invoices"))],
    page: Annotated[Page, Depends(page_params("invoice"))],
    status: Annotated[InvoiceStatus | None, Query(description="Filter by status")] = None,
    number: Annotated[str | None, Query(max_length=64, description="Filter by number")] = None,
    customer_email: Annotated[
        str | None, Query(max_length=320, description="Filter by customer email")
    ] = None,
) -> JSONResponse:
    """The caller's invoices, oldest first, filtered and paginated."""
    email = None
    if customer_email is not None:
        try:
            email = normalize_email(customer_email)
        except ValueError:
            email = customer_email
    items, more, total = await repository.list_invoices(
        ctx.session, ctx.account_id, status=status, number=number, customer_email=email, page=page
    )
    return await respond(
        ctx, [service.to_read(i) for i in items], total_invoices=total, has_more=more
    )


@router.get(
    "/{invoice_id}",
    summary="Get Invoice",
    responses={**reply(InvoiceRead), **errors_for(400, 401, 403, 404)},
)
async def get_invoice(
    invoice_id: str,
    ctx: Annotated[Ctx, Depends(require("invoices:read", "access this invoice"))],
) -> JSONResponse:
    """One invoice of the caller's account."""
    invoice = await service.get(ctx.session, ctx.account_id, invoice_id)
    return await respond(ctx, service.to_read(invoice), version=invoice.version)


@router.put(
    "/{invoice_id}",
    summary="Update Invoice",
    responses={**reply(InvoiceRead), **errors_for(400, 401, 403, 404, 409, 412, 422)},
)
async def update_invoice(
    invoice_id: str,
    body: InvoiceUpdate,
    ctx: Annotated[Ctx, Depends(require("invoices:write", "update this invoice"))],
) -> JSONResponse:
    """Update an invoice. Setting ``status`` to paid, void or disputed cancels its pending
    callouts at once, so nobody is chased for a settled debt. A void invoice stays void.
    ``plan_id`` attaches (or changes) the invoice's collection plan, null detaches it; settling
    the invoice stops its plan."""
    invoice = await service.get(ctx.session, ctx.account_id, invoice_id)
    # Preconditions are judged after the request's own checks (RFC 9110 13.2.1).
    current_version = invoice.version
    invoice = await service.update(
        ctx.session, invoice, body, ctx.clock.now(), ctx.runtime.settings.public_url
    )
    await plan_service.on_invoice_updated(
        ctx.session, ctx.principal, invoice, body.model_fields_set, body.plan_id, ctx.clock.now()
    )
    check_if_match(ctx, current_version)
    return await respond(
        ctx,
        service.to_read(invoice),
        message="Invoice updated successfully",
        version=invoice.version,
    )
