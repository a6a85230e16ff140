"""The webhook life cycles: a delivery's status and an endpoint being disabled by the service.
The one writer of both; disabling appends ``webhook.disabled``.

    delivery: pending -> delivered | failed      (failed -> pending: retried by hand)
    endpoint: enabled -> disabled (410 Gone, or failing for days; a user may enable it again)

Free of SQL: the repository writes the values these functions give.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.event.log import record
from credira.event.types import EventType
from credira.models import WebhookEndpoint
from credira.webhook.types import DeliveryStatus, DisabledReason
from credira.webhook.view import endpoint_read

__all__ = ["DeliveryStatus", "DisabledReason", "attempted", "disable", "new_delivery", "retried"]


def new_delivery(**fields: Any) -> dict[str, Any]:
    """A delivery row, pending."""
    return {**fields, "status": DeliveryStatus.PENDING, "attempt_count": 0, "attempts": []}


def attempted(
    retry_at: datetime | None, delivered: bool, attempts: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """What an attempt writes: pending until ``retry_at``, delivered, or failed for good."""
    status = (
        DeliveryStatus.DELIVERED
        if delivered
        else DeliveryStatus.PENDING
        if retry_at is not None
        else DeliveryStatus.FAILED
    )
    values: dict[str, Any] = {
        "status": status,
        "attempt_count": len(attempts),
        "attempts": attempts,
        "lease_owner": None,
        "lease_expires": None,
        "updated_time": now,
        "next_attempt_time": retry_at or now,
    }
    return values


def retried(now: datetime) -> dict[str, Any]:
    """A delivery sent again by hand (``POST .../retry``): due now."""
    return {
        "status": DeliveryStatus.PENDING,
        "next_attempt_time": now,
        "lease_owner": None,
        "lease_expires": None,
        "updated_time": now,
    }


def disable(
    session: AsyncSession | Session,
    endpoint: WebhookEndpoint,
    reason: DisabledReason,
    now: datetime,
) -> None:
    """The service disables an endpoint; the account is told by a ``webhook.disabled`` event."""
    if not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = reason.value
    endpoint.updated_time = max(now, endpoint.created_time)
    record(
        session,
        EventType.WEBHOOK_DISABLED,
        account_id=endpoint.account_id,
        object_id=endpoint.id,
        data=endpoint_read(endpoint),
        now=now,
    )
