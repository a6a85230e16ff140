"""``/v1/webhooks``: endpoints that receive the account's events, and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import Deleted, errors_for, listing, reply
from credira.kit.clock import format_time
from credira.kit.pagination import Page
from credira.secret.crypto import Cipher, cipher_for
from credira.webhook import repository, service
from credira.webhook.guard import Policy
from credira.webhook.schemas import (
    DeliveryRead,
    SecretRotation,
    TestSentRead,
    WebhookCreate,
    WebhookRead,
    WebhookSecretRead,
    WebhookUpdate,
)
from credira.webhook.types import DeliveryStatus
from credira.webhook.view import delivery_read

router = APIRouter(prefix="/webhooks", tags=["Webhooks"])


def _cipher(ctx: Ctx) -> Cipher:
    return cipher_for(ctx.runtime.settings)


def _policy(ctx: Ctx) -> Policy:
    return Policy(ctx.runtime.settings.webhook_allow_networks)


@router.post(
    "",
    status_code=201,
    summary="Create Webhook",
    responses={**reply(WebhookSecretRead, 201), **errors_for(400, 401, 403, 422)},
)
async def create_webhook(
    body: WebhookCreate,
    ctx: Annotated[Ctx, Depends(require("webhooks:write", "create webhooks"))],
) -> JSONResponse:
    """Create a webhook endpoint: the account's events of ``event_types`` (wildcards such as
    ``call.*``) are POSTed to ``url``, signed as Standard Webhooks defines. The reply carries
    the signing ``secret`` (``whsec_`` + base64) once; it is stored encrypted and never shown
    again (rotate it to get a new one)."""
    endpoint, secret = await service.create(
        ctx.session, ctx.account_id, body, _cipher(ctx), _policy(ctx), ctx.clock.now()
    )
    return await respond(
        ctx,
        service.to_read(endpoint, secret),
        status=201,
        message="Webhook created successfully",
        version=endpoint.version,
        shown_once="secret",
    )


@router.get(
    "",
    summary="List Webhooks",
    responses={**listing(WebhookRead, "webhooks"), **errors_for(400, 401, 403, 422)},
)
async def list_webhooks(
    ctx: Annotated[Ctx, Depends(require("webhooks:read", "list webhooks"))],
    page: Annotated[Page, Depends(page_params("webhook"))],
) -> JSONResponse:
    """The account's webhook endpoints, oldest first."""
    items, more, total = await repository.list_endpoints(ctx.session, ctx.account_id, page)
    return await respond(
        ctx, [service.to_read(e) for e in items], total_webhooks=total, has_more=more
    )


@router.get(
    "/{webhook_id}",
    summary="Get Webhook",
    responses={**reply(WebhookRead), **errors_for(400, 401, 403, 404)},
)
async def get_webhook(
    webhook_id: str,
    ctx: Annotated[Ctx, Depends(require("webhooks:read", "access this webhook"))],
) -> JSONResponse:
    """One webhook endpoint of the caller's account (never its secret)."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    return await respond(ctx, service.to_read(endpoint), version=endpoint.version)


@router.put(
    "/{webhook_id}",
    summary="Update Webhook",
    responses={**reply(WebhookRead), **errors_for(400, 401, 403, 404, 412, 422)},
)
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    ctx: Annotated[Ctx, Depends(require("webhooks:write", "update this webhook"))],
) -> JSONResponse:
    """Change the URL, the event types, the description, or enable and disable it. An
    endpoint the service disabled (410 Gone, or failing for days) is enabled again here."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    current_version = endpoint.version
    endpoint = await service.update(ctx.session, endpoint, body, _policy(ctx), ctx.clock.now())
    check_if_match(ctx, current_version)
    return await respond(
        ctx,
        service.to_read(endpoint),
        message="Webhook updated successfully",
        version=endpoint.version,
    )


@router.delete(
    "/{webhook_id}",
    summary="Delete Webhook",
    responses={**reply(Deleted, name="WebhookDeletedReply"), **errors_for(400, 401, 403, 404)},
)
async def delete_webhook(
    webhook_id: str,
    ctx: Annotated[Ctx, Depends(require("webhooks:write", "delete this webhook"))],
) -> JSONResponse:
    """Delete a webhook endpoint and its delivery log; nothing more is sent to it."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    await service.delete(ctx.session, endpoint)
    data = {"id": webhook_id, "deleted": True, "deleted_time": format_time(ctx.clock.now())}
    return await respond(ctx, data, message="Webhook deleted successfully")


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate Webhook Secret",
    responses={**reply(WebhookSecretRead), **errors_for(400, 401, 403, 404, 422)},
)
async def rotate_secret(
    webhook_id: str,
    ctx: Annotated[Ctx, Depends(require("webhooks:write", "rotate this webhook's secret"))],
    body: SecretRotation | None = None,
) -> JSONResponse:
    """A new signing secret, shown in this reply only. For ``grace_seconds`` (a day by
    default) the previous secret signs too: ``webhook-signature`` carries both signatures,
    space-separated, so receivers can switch without losing a delivery."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    secret = await service.rotate_secret(
        ctx.session, endpoint, body or SecretRotation(), _cipher(ctx), ctx.clock.now()
    )
    return await respond(
        ctx,
        service.to_read(endpoint, secret),
        message="Webhook secret rotated",
        version=endpoint.version,
        shown_once="secret",
    )


@router.post(
    "/{webhook_id}/test",
    summary="Send Test Event",
    responses={**reply(TestSentRead, 202), **errors_for(400, 401, 403, 404)},
    status_code=202,
)
async def send_test(
    webhook_id: str,
    ctx: Annotated[Ctx, Depends(require("webhooks:write", "test this webhook"))],
) -> JSONResponse:
    """Queue a ``webhook.test`` event to this endpoint only; its delivery shows in the log."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    sent = await service.send_test(ctx.session, endpoint, ctx.clock.now())
    ctx.runtime.wake_worker()
    return await respond(ctx, sent, status=202, message="Test event queued")


@router.get(
    "/{webhook_id}/deliveries",
    summary="List Webhook Deliveries",
    responses={**listing(DeliveryRead, "deliveries"), **errors_for(400, 401, 403, 404, 422)},
)
async def list_deliveries(
    webhook_id: str,
    ctx: Annotated[Ctx, Depends(require("webhooks:read", "read this webhook's deliveries"))],
    page: Annotated[Page, Depends(page_params("delivery"))],
    status: Annotated[DeliveryStatus | None, Query(description="Filter by status")] = None,
) -> JSONResponse:
    """The endpoint's deliveries, oldest first: one per event, each with its attempts (time,
    HTTP status, latency, the first KiB of the reply or the error)."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    items, more, total = await repository.list_deliveries(ctx.session, endpoint.id, status, page)
    return await respond(
        ctx, [delivery_read(d) for d in items], total_deliveries=total, has_more=more
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Retry Webhook Delivery",
    responses={**reply(DeliveryRead), **errors_for(400, 401, 403, 404)},
)
async def retry_delivery(
    webhook_id: str,
    delivery_id: str,
    ctx: Annotated[Ctx, Depends(require("webhooks:write", "retry this delivery"))],
) -> JSONResponse:
    """Attempt a delivery again now, with the same ``webhook-id``, whatever its status."""
    endpoint = await service.get(ctx.session, ctx.account_id, webhook_id)
    delivery = await service.get_delivery(ctx.session, endpoint, delivery_id)
    delivery = await service.retry(ctx.session, delivery, ctx.clock.now())
    ctx.runtime.wake_worker()
    return await respond(ctx, delivery_read(delivery), message="Delivery queued")
