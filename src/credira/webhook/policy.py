"""What follows an attempt: pure rules, free of SQL, HTTP and the wall clock."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Retry-After is honoured up to this long (a receiver cannot park a delivery for a month).
MAX_RETRY_AFTER = 24 * 3600.0
JITTER = 0.2
RESPONSE_KEPT = 1024  # bytes of a reply kept with its attempt


@dataclass(frozen=True)
class Outcome:
    """One attempt, as the sender saw it."""

    status_code: int | None  # None: no reply (refused, timed out, blocked)
    latency_ms: int
    response: str = ""
    error: str | None = None
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Next:
    """``retry_at`` None: no more attempts (delivered, given up, or the endpoint is gone)."""

    retry_at: datetime | None
    gone: bool = False


def parse_schedule(value: str) -> tuple[float, ...]:
    return tuple(float(part) for part in value.split(",") if part.strip())


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from ``Retry-After`` (delay-seconds or an HTTP date), None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def after(
    outcome: Outcome,
    attempts_made: int,
    schedule: tuple[float, ...],
    now: datetime,
    rng: random.Random | None = None,
) -> Next:
    """When to try again after the ``attempts_made``-th attempt ended with ``outcome``."""
    if outcome.succeeded:
        return Next(None)
    if outcome.status_code == 410:
        return Next(None, gone=True)
    if attempts_made > len(schedule):
        return Next(None)
    delay = schedule[attempts_made - 1]
    delay *= 1 + (rng or random).uniform(-JITTER, JITTER)
    if outcome.retry_after is not None and outcome.status_code in (429, 502, 503, 504):
        delay = outcome.retry_after
    return Next(now + timedelta(seconds=delay))


def should_disable(failing_since: datetime | None, now: datetime, after_hours: float) -> bool:
    """An endpoint failing without a success for ``after_hours`` is disabled."""
    return failing_since is not None and now - failing_since >= timedelta(hours=after_hours)
