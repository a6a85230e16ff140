from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field, StrictStr

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import errors_for, listing, reply
from credira.callout import repository, service
from credira.callout.schemas import (
    CalloutCreate,
    CalloutDeleted,
    CalloutRead,
    CalloutResponseRead,
    CalloutStatus,
    CalloutUpdate,
)
from credira.errors import InvalidRequest
from credira.invoice import service as invoice_service
from credira.kit.body import RequestBody
from credira.kit.clock import format_time
from credira.kit.pagination import Page
from credira.report import service as report

router = APIRouter(prefix="/callouts", tags=["Callouts"])


class CalloutCancel(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[StrictStr, Field(max_length=500)] | None = None


@router.post(
    "",
    status_code=201,
    summary="Create Callout",
    responses={**reply(CalloutRead, 201), **errors_for(400, 401, 403, 404, 409, 422)},
)
async def create_callout(
    body: CalloutCreate,
    ctx: Annotated[Ctx, Depends(require("callouts:write", "create callouts"))],
) -> JSONResponse:
    """Schedule outreach about an open invoice. ``scheduled_time`` defaults to now;
    ``target_contact`` defaults to the invoice's customer; calls need a voice agent of the
    account and a phone number, emails an email address. A key creating a callout that calls
    needs ``calls:write`` as well, one that emails ``emails:write``."""
    callout = await service.create(
        ctx.session, ctx.principal, ctx.account_id, body, ctx.clock.now()
    )
    response = await respond(
        ctx,
        service.to_read(callout),
        status=201,
        message="Callout created successfully",
        version=callout.version,
    )
    ctx.runtime.wake_worker()
    return response


@router.get(
    "",
    summary="Get Callouts",
    responses={**listing(CalloutRead, "callouts"), **errors_for(400, 401, 403, 404, 422)},
)
async def list_callouts(
    ctx: Annotated[Ctx, Depends(require("callouts:read", "access callouts"))],
    page: Annotated[Page, Depends(page_params("callout", whole_by_default=True))],
    invoice_id: Annotated[
        str | None,
        Query(description="The unique identifier of the invoice to retrieve callouts for"),
    ] = None,
    status: Annotated[CalloutStatus | None, Query(description="Filter by status")] = None,
) -> JSONResponse:
    """Retrieve all callouts associated with a specific invoice ID: an empty array when the
    invoice has none, ``NOT_FOUND`` when the invoice is unknown."""
    if invoice_id is None:
        raise InvalidRequest("Missing required parameter: invoice_id")
    invoice = await invoice_service.get(ctx.session, ctx.account_id, invoice_id)
    items, more, total = await repository.list_for_invoice(
        ctx.session, ctx.account_id, invoice.id, status, page
    )
    return await respond(
        ctx, [service.to_read(c) for c in items], total_callouts=total, has_more=more
    )


@router.get(
    "/{callout_id}",
    summary="Get Callout",
    responses={**reply(CalloutRead), **errors_for(400, 401, 403, 404)},
)
async def get_callout(
    callout_id: str,
    ctx: Annotated[Ctx, Depends(require("callouts:read", "access this callout"))],
) -> JSONResponse:
    """One callout of the caller's account, with its ``ETag``."""
    callout = await service.get(ctx.session, ctx.account_id, callout_id)
    return await respond(ctx, service.to_read(callout), version=callout.version)


@router.get(
    "/{callout_id}/response",
    summary="Callout Response",
    responses={**reply(CalloutResponseRead), **errors_for(400, 401, 403, 404)},
)
async def callout_response(
    callout_id: str,
    ctx: Annotated[Ctx, Depends(require("callouts:read", "access this callout"))],
) -> JSONResponse:
    """Detailed response data for a callout: every call and email attempt with its outcome,
    recording and transcript links, and analytics over them."""
    public = ctx.runtime.settings.public_url
    return await respond(
        ctx, await report.callout_report(ctx.session, ctx.account_id, callout_id, public)
    )


@router.put(
    "/{callout_id}",
    summary="Update Callout",
    responses={**reply(CalloutRead), **errors_for(400, 401, 403, 404, 409, 412, 422)},
)
async def update_callout(
    callout_id: str,
    body: CalloutUpdate,
    ctx: Annotated[Ctx, Depends(require("callouts:write", "update this callout"))],
) -> JSONResponse:
    """Update callout details including scheduling and configuration.

    Only a ``scheduled`` callout can change: an active one answers ``CONFLICT`` "Cannot update
    callout that is currently active", a finished one ``CONFLICT`` too. ``actions`` and
    ``target_contact`` merge field by field; ``metadata`` keys merge, a key set to null is
    removed. Send ``If-Match`` with the ``ETag`` of your copy to refuse lost updates. Changing
    a callout that will call (as changed) needs ``calls:write`` as well, one that will email
    ``emails:write``; cancelling and deleting need ``callouts:write`` only."""
    callout = await service.get(ctx.session, ctx.account_id, callout_id)
    # Preconditions are judged after the request's own checks (RFC 9110 13.2.1).
    current_version = callout.version
    callout = await service.update(ctx.session, ctx.principal, callout, body, ctx.clock.now())
    check_if_match(ctx, current_version)
    response = await respond(
        ctx,
        service.to_read(callout),
        message="Callout updated successfully",
        version=callout.version,
    )
    ctx.runtime.wake_worker()
    return response


@router.delete(
    "/{callout_id}",
    summary="Delete Callout",
    responses={**reply(CalloutDeleted), **errors_for(400, 401, 403, 404, 409)},
)
async def delete_callout(
    callout_id: str,
    ctx: Annotated[Ctx, Depends(require("callouts:write", "delete this callout"))],
) -> JSONResponse:
    """Delete a callout and its recordings, transcriptions and analytics. Irreversible. An
    active callout answers ``CONFLICT``: cancel it, or wait for it to finish."""
    callout = await service.get(ctx.session, ctx.account_id, callout_id)
    items = await service.delete(ctx.session, callout, ctx.clock.now())
    data = {
        "id": callout_id,
        "deleted": True,
        "deleted_time": format_time(ctx.clock.now()),
        "deleted_items": items,
    }
    return await respond(ctx, data, message="Callout deleted successfully")


@router.post(
    "/{callout_id}/cancel",
    summary="Cancel Callout",
    responses={**reply(CalloutRead), **errors_for(400, 401, 403, 404, 409, 422)},
)
async def cancel_callout(
    callout_id: str,
    ctx: Annotated[Ctx, Depends(require("callouts:write", "cancel this callout"))],
    body: CalloutCancel | None = None,
) -> JSONResponse:
    """Cancel a scheduled or active callout; nothing more is dialled or sent for it, and a
    call requested through ``POST /calls`` that was not dialled yet ends ``cancelled``. A
    finished callout answers ``CONFLICT``."""
    callout = await service.get(ctx.session, ctx.account_id, callout_id)
    callout = await service.cancel(
        ctx.session,
        callout,
        body.reason if body else None,
        ctx.clock.now(),
        ctx.runtime.settings.public_url,
    )
    return await respond(
        ctx,
        service.to_read(callout),
        message="Callout cancelled successfully",
        version=callout.version,
    )
