"""Time: UTC-aware instants everywhere, an injectable clock, one wire format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock tests move by hand instead of sleeping."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 UTC with ``Z`` and second precision: ``2024-01-25T14:00:00Z``.

    ``isoformat`` always writes four digits of year (``0001-01-01``), where ``strftime("%Y")``
    on glibc writes ``1`` for the year 1, which no ISO 8601 reader (ours included) accepts.
    """
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
