from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import respond
from credira.api.responses import errors_for, listing, reply
from credira.callout import service as callout_service
from credira.email import repository, service
from credira.email.schemas import (
    EmailDetailRead,
    EmailRead,
    EmailReconcile,
    EmailScheduled,
    SendEmailCreate,
)
from credira.email.state import EmailStatus
from credira.email_template.render import Limits
from credira.errors import InvalidRequest
from credira.kit.pagination import Page

router = APIRouter(tags=["Emails"])


@router.post(
    "/send-email",
    status_code=201,
    summary="Send Email",
    responses={**reply(EmailScheduled, 201), **errors_for(400, 401, 403, 404, 409, 422)},
)
async def send_email(
    body: SendEmailCreate,
    ctx: Annotated[Ctx, Depends(require("emails:write", "send emails"))],
) -> JSONResponse:
    """Render a template with ``variables`` (and, with a ``callout_id``, its invoice's data) and
    send it now or at ``scheduled_time``. The worker delivers it under the contact rules: no
    email to an unsubscribed address or for a settled invoice, and the account's weekly
    contact limit per invoice."""
    email = await service.create(
        ctx.session,
        ctx.principal,
        ctx.account_id,
        body,
        ctx.clock.now(),
        Limits.of(ctx.runtime.settings),
    )
    response = await respond(
        ctx,
        service.send_reply(email),
        status=201,
        message="Email has been scheduled successfully",
    )
    ctx.runtime.wake_worker()
    return response


@router.get(
    "/emails",
    summary="Get Emails",
    responses={**listing(EmailRead, "emails"), **errors_for(400, 401, 403, 404, 422)},
)
async def list_emails(
    ctx: Annotated[Ctx, Depends(require("emails:read", "access emails"))],
    page: Annotated[Page, Depends(page_params("email", whole_by_default=True))],
    callout_id: Annotated[
        str | None,
        Query(description="The unique identifier of the callout to retrieve emails for"),
    ] = None,
) -> JSONResponse:
    """Retrieve all emails of a callout: an empty array when it has none, ``NOT_FOUND`` when
    the callout is unknown."""
    if callout_id is None:
        raise InvalidRequest("Missing required parameter: callout_id")
    callout = await callout_service.get(ctx.session, ctx.account_id, callout_id)
    items, more, total = await repository.list_for_callout(
        ctx.session, ctx.account_id, callout.id, page
    )
    return await respond(
        ctx, [service.to_read(e) for e in items], total_emails=total, has_more=more
    )


@router.get(
    "/emails/{email_id}",
    summary="Get Email",
    responses={**reply(EmailDetailRead), **errors_for(400, 401, 403, 404)},
)
async def get_email(
    email_id: str,
    ctx: Annotated[Ctx, Depends(require("emails:read", "access this email"))],
) -> JSONResponse:
    """One email with its delivery details (the mail server's reply, Message-ID, attempts)."""
    email = await service.get(ctx.session, ctx.account_id, email_id)
    return await respond(ctx, service.to_detail(email))


@router.post(
    "/emails/{email_id}/reconcile",
    summary="Reconcile Email",
    responses={**reply(EmailDetailRead), **errors_for(400, 401, 403, 404, 409, 422)},
)
async def reconcile_email(
    email_id: str,
    body: EmailReconcile,
    ctx: Annotated[Ctx, Depends(require("emails:write", "reconcile this email"))],
) -> JSONResponse:
    """Settle an ``unconfirmed`` email: the worker sending it stopped after handing it to the
    mail server and before recording the reply, so it may or may not have been delivered and
    is never re-sent on its own. ``delivered`` records it as delivered; ``not_delivered``
    sends it again (under the contact rules). Any other status answers ``CONFLICT``."""
    email = await service.reconcile(ctx.session, ctx.account_id, email_id, body, ctx.clock.now())
    response = await respond(ctx, service.to_detail(email), message="Email reconciled")
    if email.status == EmailStatus.SCHEDULED:
        ctx.runtime.wake_worker()
    return response
