"""The event as the API shows it."""

from __future__ import annotations

from typing import Any

from credira.api.responses import Instant, ReadModel, absent


class EventRead(ReadModel):
    """One change: ``data`` is the object as the API showed it right after the change."""

    id: str
    type: str
    created_time: Instant
    object_id: str
    invoice_id: str = absent()
    callout_id: str = absent()
    data: dict[str, Any]
