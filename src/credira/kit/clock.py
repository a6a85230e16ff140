"""Time: UTC-aware instants everywhere, an injectable clock, one wire format."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
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
    return _format(value)


# The objects a batch shows share most of their instants (the batch's moment of change, an
# invoice's times on each of its callouts): each is formatted once.
@lru_cache(maxsize=4096)
def _format(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds")[:-6] + "Z"
