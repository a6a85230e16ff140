"""The callout as the API shows it (also each callout event's ``data``)."""

from __future__ import annotations

from typing import Any

from credira.kit.clock import format_time
from credira.models import Callout

__all__ = ["to_read"]


def to_read(callout: Callout) -> dict[str, Any]:
    """The documented callout object, key for key; extra keys appear only when they apply."""
    data: dict[str, Any] = {
        "id": callout.id,
        "invoice_id": callout.invoice_id,
        "status": callout.status,
        "type": callout.type,
        "scheduled_time": format_time(callout.scheduled_time),
        "created_time": format_time(callout.created_time),
        "updated_time": format_time(callout.updated_time),
        "target_contact": {
            "name": callout.contact_name,
            "email": callout.contact_email,
            "phone": callout.contact_phone,
        },
        "actions": {
            "calls_enabled": callout.calls_enabled,
            "emails_enabled": callout.emails_enabled,
            "voice_agent_id": callout.voice_agent_id,
        },
        "account_id": callout.account_id,
        "priority": callout.priority,
        "metadata": callout.metadata_,
    }
    if callout.status == "scheduled" and (
        callout.hold_reason is not None or callout.run_at != callout.scheduled_time
    ):
        data["next_attempt_time"] = format_time(callout.run_at)
    if callout.status == "scheduled" and callout.hold_reason is not None:
        data["hold_reason"] = callout.hold_reason
    if callout.status_reason is not None:
        data["status_reason"] = callout.status_reason
    if callout.completed_time is not None:
        data["completed_time"] = format_time(callout.completed_time)
    return data
