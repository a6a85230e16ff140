"""Delivery counts in one place, for metrics and the doctor.

``COUNTERS`` counts what this process's deliverers did since it started (monotonic, per
process: ``attempts``, ``delivered``, ``failed_attempts``, ``gave_up``, ``disabled``,
``events_fanned_out``, ``deliveries_made``); ``backlog`` reads the database's state, the same
from every process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from credira.webhook import repository

COUNTERS: Counter[str] = Counter()


@dataclass(frozen=True)
class Backlog:
    by_status: dict[str, int]  # deliveries: pending, delivered, failed
    oldest_unsent_seconds: float  # the oldest event not fanned out, or pending delivery; 0


async def backlog(session: AsyncSession, now: datetime) -> Backlog:
    counts = await repository.counts(session)
    oldest = [t for t in (counts.oldest_unsent_event, counts.oldest_pending_delivery) if t]
    age = max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0
    return Backlog(counts.by_status, age)
