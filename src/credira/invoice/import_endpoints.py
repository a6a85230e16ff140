"""Importing invoices from CSV over the API: the file is checked whole at once, then written
by a worker as a job whose progress can be read."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.respond import respond
from credira.api.responses import errors_for, reply
from credira.errors import InvalidRequest, MethodNotAllowed, NotFound, ValidationFailed
from credira.invoice import csv_import, import_job, import_repository, importer
from credira.kit.ids import check_id
from credira.plan import service as plan_service
from credira.plan.schemas import ImportJobRead

# Included by the invoice router ahead of its ``/{invoice_id}`` routes, which would otherwise
# take ``/invoices/import`` for an invoice id.
router = APIRouter()

_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV text (UTF-8) with a header row: number, amount, currency, due_date, "
        "customer_name (required), customer_email, customer_phone, customer_timezone, "
        "payment_url, and metadata.<key> columns",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/import",
    status_code=202,
    summary="Import Invoices",
    responses={**reply(ImportJobRead, 202), **errors_for(400, 401, 403, 404, 413, 422)},
    openapi_extra=_CSV_BODY,
)
async def import_invoices(
    ctx: Annotated[Ctx, Depends(require("invoices:write", "import invoices"))],
    plan_id: Annotated[
        str | None, Query(description="Attach this collection plan to every invoice")
    ] = None,
    skip_invalid: Annotated[
        bool, Query(description="Import the good rows and leave the bad ones out")
    ] = False,
) -> JSONResponse:
    """Import invoices from a CSV body. Every row is checked first, as ``POST /v1/invoices``
    would check it; one bad row and nothing is imported: ``VALIDATION_ERROR`` names each bad
    row's line, column and reason (with ``skip_invalid``, the good rows are imported and the
    job's ``error`` lists the rest). The rows are then written by a worker: the reply is the
    job (``GET /v1/invoices/import/{job_id}`` for its progress). Idempotent on the invoice
    number: a row already imported changes nothing, a changed row updates its invoice."""
    raw = await ctx.request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body must be CSV text in UTF-8", details=str(exc)) from exc
    try:
        # Checking thousands of rows takes a while: off the event loop, which serves others.
        parsed = await asyncio.to_thread(csv_import.parse, text)
    except csv_import.HeaderError as exc:
        raise ValidationFailed(
            "The CSV header cannot be read", details=str(exc), field="header"
        ) from exc
    if parsed.errors and not skip_invalid:
        first = parsed.errors[0]
        shown = "; ".join(str(e) for e in parsed.errors[:20])
        more = len(parsed.errors) - 20
        raise ValidationFailed(
            f"{parsed.bad_lines} bad row(s): nothing was imported",
            details=shown + (f"; and {more} more" if more > 0 else ""),
            field=first.column,
        )
    if plan_id is not None:
        await plan_service.plan_to_attach(ctx.session, ctx.principal, ctx.account_id, plan_id)
    job = import_job.new(
        ctx.session,
        account_id=ctx.account_id,
        created_by=ctx.principal.user_id,
        content=text,
        total_rows=len(parsed.rows),
        plan_id=plan_id,
        error=importer.summary(parsed),
        now=ctx.clock.now(),
    )
    await ctx.session.flush()
    ctx.runtime.wake_worker()
    return await respond(ctx, import_job.to_read(job), status=202, message="Invoice import queued")


@router.api_route(
    "/import", methods=["GET", "PUT", "DELETE", "PATCH", "OPTIONS"], include_in_schema=False
)
async def import_other_methods(request: Request) -> None:
    """Only POST: without this route the invoice routes would read ``import`` as an id."""
    raise MethodNotAllowed(
        f"Method {request.method} is not allowed on {request.url.path}", headers={"Allow": "POST"}
    )


@router.get(
    "/import/{job_id}",
    summary="Get Invoice Import",
    responses={**reply(ImportJobRead), **errors_for(400, 401, 403, 404)},
)
async def get_import(
    job_id: str,
    ctx: Annotated[Ctx, Depends(require("invoices:read", "access this import"))],
) -> JSONResponse:
    """An import job and its progress: rows written so far, created, updated and unchanged."""
    check_id("import", job_id, "import job")
    job = await import_repository.get(ctx.session, ctx.account_id, job_id)
    if job is None:
        raise NotFound("Import job not found")
    return await respond(ctx, import_job.to_read(job))
