"""The statuses of a delivery, and why the service disables an endpoint."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DisabledReason(StrEnum):
    GONE = "endpoint answered 410 Gone"
    FAILING = "deliveries failed without a success"
