"""Webhook endpoints: create, change, rotate their secret, send a test, retry a delivery."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from credira.errors import Conflict, NotFound, ValidationFailed
from credira.event.types import EventType
from credira.kit.clock import format_time
from credira.kit.ids import check_id, new_id, new_ordered_id
from credira.models import WebhookDelivery, WebhookEndpoint
from credira.secret.crypto import Cipher
from credira.webhook import repository, state
from credira.webhook.guard import Blocked, Policy
from credira.webhook.schemas import SecretRotation, WebhookCreate, WebhookUpdate
from credira.webhook.types import DeliveryStatus
from credira.webhook.view import endpoint_read, payload

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 random bytes
TEST_EVENT = "webhook.test"
KNOWN_TYPES = {t.value for t in EventType}


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_url(url: str, policy: Policy) -> None:
    """A URL whose host is a literal address the SSRF guard refuses is refused at once (a name
    is judged when delivering, after DNS)."""
    try:
        host = httpx.URL(url).host
        policy.check_literal(host)
    except (httpx.InvalidURL, Blocked, ValueError) as exc:
        raise ValidationFailed(
            "Invalid value for url", details=f"not a deliverable URL: {exc}", field="url"
        ) from None


async def get(session: AsyncSession, account_id: str, endpoint_id: str) -> WebhookEndpoint:
    check_id("webhook", endpoint_id, "webhook")
    endpoint = await repository.get(session, account_id, endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook not found")
    return endpoint


async def create(
    session: AsyncSession,
    account_id: str,
    body: WebhookCreate,
    cipher: Cipher,
    policy: Policy,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its secret in clear (shown once)."""
    check_url(body.url, policy)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("webhook"),
        account_id=account_id,
        url=body.url,
        description=body.description,
        event_types=list(body.event_types),
        enabled=body.enabled,
        secret=cipher.encrypt(secret.encode("ascii")),
        created_time=now,
        updated_time=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def update(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    body: WebhookUpdate,
    policy: Policy,
    now: datetime,
) -> WebhookEndpoint:
    fields = body.model_dump(exclude_unset=True)
    if fields.get("url") is not None:
        check_url(fields["url"], policy)
        endpoint.url = fields["url"]
    if fields.get("event_types") is not None:
        endpoint.event_types = list(fields["event_types"])
    if "description" in fields:
        endpoint.description = fields["description"]
    if fields.get("enabled") is not None and fields["enabled"] != endpoint.enabled:
        endpoint.enabled = fields["enabled"]
        if endpoint.enabled:
            # Enabled again by its user: a fresh start, and what waited is due now.
            endpoint.disabled_reason = None
            endpoint.failing_since = None
            await repository.unpark(session, endpoint.id, now)
        else:
            await repository.park(session, endpoint.id)
    endpoint.updated_time = max(now, endpoint.created_time)
    await session.flush()
    return endpoint


async def rotate_secret(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    body: SecretRotation,
    cipher: Cipher,
    now: datetime,
) -> str:
    """A new secret (returned in clear); the previous one signs too for the grace period."""
    secret = new_secret()
    if body.grace_seconds > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_expires = now + timedelta(seconds=body.grace_seconds)
    else:
        endpoint.previous_secret = None
        endpoint.previous_expires = None
    endpoint.secret = cipher.encrypt(secret.encode("ascii"))
    endpoint.updated_time = max(now, endpoint.created_time)
    await session.flush()
    return secret


async def delete(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


async def send_test(
    session: AsyncSession, endpoint: WebhookEndpoint, now: datetime
) -> dict[str, str]:
    """A ``webhook.test`` message to this endpoint only (not in the event log), due now."""
    event_id = new_ordered_id("event")
    created = format_time(now)
    event = {
        "id": event_id,
        "type": TEST_EVENT,
        "created_time": created,
        "object_id": endpoint.id,
        "data": endpoint_read(endpoint),
    }
    delivery_id = new_ordered_id("delivery")
    row = state.new_delivery(
        id=delivery_id,
        account_id=endpoint.account_id,
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=TEST_EVENT,
        object_id=endpoint.id,
        body=payload(TEST_EVENT, created, event).decode("utf-8"),
        # A disabled endpoint gets it once enabled again.
        next_attempt_time=now if endpoint.enabled else repository.PARKED,
        created_time=now,
        updated_time=now,
    )
    await repository.add_deliveries(session, [row])
    return {"delivery_id": delivery_id, "event_id": event_id}


async def get_delivery(
    session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: str
) -> WebhookDelivery:
    check_id("delivery", delivery_id, "delivery")
    delivery = await repository.get_delivery(session, endpoint.id, delivery_id)
    if delivery is None:
        raise NotFound("Delivery not found")
    return delivery


async def retry(session: AsyncSession, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it (a new attempt, same ``webhook-id``)."""
    leased = delivery.lease_expires is not None and delivery.lease_expires >= now
    if delivery.status == DeliveryStatus.PENDING and leased:
        raise Conflict("The delivery is being attempted right now; retry it after")
    await repository.write_delivery(session, delivery.id, state.retried(now))
    endpoint = await repository.get(session, delivery.account_id, delivery.endpoint_id)
    if endpoint is not None and not endpoint.enabled:
        await repository.park(session, endpoint.id, [delivery.id])
    await session.refresh(delivery)
    return delivery


def to_read(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    data = endpoint_read(endpoint)
    if secret is not None:
        data["secret"] = secret
    return data
