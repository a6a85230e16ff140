"""The event log as the API shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.errors import NotFound
from credira.event import repository
from credira.kit.clock import format_time
from credira.kit.ids import check_id
from credira.models.event import Event


async def get(session: AsyncSession, account_id: str, event_id: str) -> Event:
    check_id("event", event_id)
    found = await repository.get(session, account_id, event_id)
    if found is None:
        raise NotFound("Event not found")
    return found


def to_read(event: Event) -> dict[str, Any]:
    """``{id, type, created_time, object_id, invoice_id?, callout_id?, data}``: ``data`` is the
    object as the API showed it right after the change."""
    data: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "created_time": format_time(event.created_time),
        "object_id": event.object_id,
    }
    if event.invoice_id is not None:
        data["invoice_id"] = event.invoice_id
    if event.callout_id is not None:
        data["callout_id"] = event.callout_id
    data["data"] = event.data
    return data
