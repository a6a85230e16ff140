"""Webhook endpoints and deliveries as the API shows them."""

from __future__ import annotations

from typing import Any

import orjson

from credira.kit.clock import format_time
from credira.models import WebhookDelivery, WebhookEndpoint
from credira.webhook.types import DeliveryStatus


def endpoint_read(endpoint: WebhookEndpoint) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": endpoint.id,
        "account_id": endpoint.account_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "created_time": format_time(endpoint.created_time),
        "updated_time": format_time(endpoint.updated_time),
    }
    if endpoint.disabled_reason is not None and not endpoint.enabled:
        data["disabled_reason"] = endpoint.disabled_reason
    if endpoint.previous_expires is not None:
        data["previous_secret_expires"] = format_time(endpoint.previous_expires)
    return data


def delivery_read(delivery: WebhookDelivery) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": delivery.id,
        "webhook_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "object_id": delivery.object_id,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "attempts": list(delivery.attempts),
        "created_time": format_time(delivery.created_time),
        "updated_time": format_time(delivery.updated_time),
    }
    if delivery.status == DeliveryStatus.PENDING:
        data["next_attempt_time"] = format_time(delivery.next_attempt_time)
    return data


def payload(type_: str, timestamp: str | None, event: dict[str, Any]) -> bytes:
    """The body delivered: ``{type, timestamp, data}``, ``data`` the event as
    ``GET /v1/events/{id}`` shows it."""
    return orjson.dumps({"type": type_, "timestamp": timestamp, "data": event})
