"""The webhook part of a scrape: deliveries by result and the oldest undelivered event's age,
read from the webhook package's own counts (``credira.webhook.stats``) when it is part of this
build; ``None`` (no webhook series) when it is not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class WebhookGauges:
    by_result: dict[str, int]  # deliveries in the database, by status
    oldest_undelivered_seconds: float
    process_counts: dict[str, int]  # this process's deliverer since start


async def webhook_gauges(session: AsyncSession, now: datetime) -> WebhookGauges | None:
    """No webhook package in this build: no webhook series."""
    return None
