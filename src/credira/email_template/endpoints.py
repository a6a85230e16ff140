from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import Deleted, errors_for, listing, reply
from credira.email_template import repository, service
from credira.email_template.render import Limits
from credira.email_template.schemas import (
    EmailTemplateCreate,
    EmailTemplateRead,
    EmailTemplateUpdate,
    TemplateCategory,
    TemplateStatus,
)
from credira.errors import InvalidRequest, NotFound
from credira.kit.clock import format_time
from credira.kit.ids import check_id
from credira.kit.pagination import Page

router = APIRouter(prefix="/email-templates", tags=["Emails"])


@router.get(
    "",
    summary="Get Email Templates",
    responses={**listing(EmailTemplateRead, "templates"), **errors_for(400, 401, 403, 404, 422)},
)
async def list_templates(
    ctx: Annotated[Ctx, Depends(require("emails:read", "access email templates"))],
    page: Annotated[Page, Depends(page_params("template", whole_by_default=True))],
    account_id: Annotated[
        str | None,
        Query(description="The unique identifier of the account to retrieve email templates for"),
    ] = None,
    status: Annotated[
        TemplateStatus | None,
        Query(description="Filter templates by status. Possible values: active, inactive, draft"),
    ] = None,
    category: Annotated[
        TemplateCategory | None,
        Query(
            description="Filter templates by category. Possible values: payment_reminder, "
            "follow_up, welcome, notification, marketing"
        ),
    ] = None,
) -> JSONResponse:
    """Retrieve all email templates associated with a specific account ID, active, inactive and
    draft alike, oldest first. ``account_id`` must be the caller's own account; any other is
    ``NOT_FOUND`` "Account not found"."""
    if account_id is None:
        raise InvalidRequest("Missing required parameter: account_id")
    check_id("account", account_id)
    if account_id != ctx.account_id:
        raise NotFound("Account not found")
    items, more, total = await repository.list_templates(
        ctx.session, ctx.account_id, status, category, page
    )
    return await respond(
        ctx, [service.to_read(t) for t in items], total_templates=total, has_more=more
    )


@router.post(
    "",
    status_code=201,
    summary="Create Email Template",
    responses={**reply(EmailTemplateRead, 201), **errors_for(400, 401, 403, 422)},
)
async def create_template(
    body: EmailTemplateCreate,
    ctx: Annotated[Ctx, Depends(require("emails:write", "create email templates"))],
) -> JSONResponse:
    """Create an email template in the caller's account. Placeholders are ``{{ name }}``; the
    filters ``upper``, ``lower``, ``title``, ``capitalize``, ``trim`` and ``default`` and
    ``{% if name %}`` / ``{% if name is defined %}`` blocks are allowed, nothing else (no
    attribute access, calls, loops or includes): anything more is ``VALIDATION_ERROR`` naming the
    field. The HTML part is auto-escaped; ``variables`` is derived from the template text."""
    template = await service.create(
        ctx.session,
        ctx.principal,
        ctx.account_id,
        body,
        ctx.clock.now(),
        Limits.of(ctx.runtime.settings),
    )
    return await respond(
        ctx,
        service.to_read(template),
        status=201,
        message="Email template created successfully",
        version=template.version,
    )


@router.get(
    "/{template_id}",
    summary="Get Email Template",
    responses={**reply(EmailTemplateRead), **errors_for(400, 401, 403, 404)},
)
async def get_template(
    template_id: str,
    ctx: Annotated[Ctx, Depends(require("emails:read", "access this email template"))],
) -> JSONResponse:
    """One email template of the caller's account, with its ``ETag``."""
    template = await service.get(ctx.session, ctx.account_id, template_id)
    return await respond(ctx, service.to_read(template), version=template.version)


@router.put(
    "/{template_id}",
    summary="Update Email Template",
    responses={**reply(EmailTemplateRead), **errors_for(400, 401, 403, 404, 412, 422)},
)
async def update_template(
    template_id: str,
    body: EmailTemplateUpdate,
    ctx: Annotated[Ctx, Depends(require("emails:write", "update this email template"))],
) -> JSONResponse:
    """Update an email template; ``metadata`` keys merge and a key set to null is removed.
    Emails already written keep the text they were rendered with. The template syntax is
    checked as on create, and ``variables`` derived again."""
    template = await service.get(ctx.session, ctx.account_id, template_id)
    # Preconditions are judged after the request's own checks (RFC 9110 13.2.1).
    current_version = template.version
    template = await service.update(
        ctx.session, template, body, ctx.clock.now(), Limits.of(ctx.runtime.settings)
    )
    check_if_match(ctx, current_version)
    return await respond(
        ctx,
        service.to_read(template),
        message="Email template updated successfully",
        version=template.version,
    )


@router.delete(
    "/{template_id}",
    summary="Delete Email Template",
    responses={
        **reply(Deleted, name="EmailTemplateDeletedReply"),
        **errors_for(400, 401, 403, 404),
    },
)
async def delete_template(
    template_id: str,
    ctx: Annotated[Ctx, Depends(require("emails:write", "delete this email template"))],
) -> JSONResponse:
    """Delete an email template. Emails already written with it keep their rendered copy."""
    template = await service.get(ctx.session, ctx.account_id, template_id)
    await service.delete(ctx.session, template)
    data = {"id": template_id, "deleted": True, "deleted_time": format_time(ctx.clock.now())}
    return await respond(ctx, data, message="Email template deleted successfully")
