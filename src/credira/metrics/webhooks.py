"""The webhook part of a scrape, from the webhook package's own counts
(``credira.webhook.stats``): deliveries in the database by result and the age of the oldest
event not yet delivered (both the same from every process), and what this process's deliverer
did since it started (per process, not summed in multiprocess mode)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from credira.webhook import stats


@dataclass(frozen=True)
class WebhookGauges:
    by_result: dict[str, int]  # deliveries in the database, by status
    oldest_undelivered_seconds: float
    process_counts: dict[str, int]  # this process's deliverer since start


async def webhook_gauges(session: AsyncSession, now: datetime) -> WebhookGauges | None:
    backlog = await stats.backlog(session, now)
    return WebhookGauges(
        dict(backlog.by_status), backlog.oldest_unsent_seconds, dict(stats.COUNTERS)
    )
