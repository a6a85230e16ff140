"""The callout as the API shows it (also each callout event's ``data``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from credira.kit.clock import format_time

__all__ = ["CalloutFields", "CalloutSnapshot", "to_read"]


class CalloutFields(Protocol):
    """What the API shows of a callout: a ``Callout`` row, or a snapshot of one."""

    @property
    def id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def invoice_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def scheduled_time(self) -> datetime: ...
    @property
    def created_time(self) -> datetime: ...
    @property
    def updated_time(self) -> datetime: ...
    @property
    def contact_name(self) -> str | None: ...
    @property
    def contact_email(self) -> str | None: ...
    @property
    def contact_phone(self) -> str | None: ...
    @property
    def calls_enabled(self) -> bool: ...
    @property
    def emails_enabled(self) -> bool: ...
    @property
    def voice_agent_id(self) -> str | None: ...
    @property
    def metadata_(self) -> dict[str, Any]: ...
    @property
    def run_at(self) -> datetime: ...
    @property
    def hold_reason(self) -> str | None: ...
    @property
    def status_reason(self) -> str | None: ...
    @property
    def completed_time(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class CalloutSnapshot:
    """The shown fields of a callout written without loading it (the worker's claim, one
    ``UPDATE ... RETURNING`` for a batch, builds these instead of ORM objects)."""

    id: str
    account_id: str
    invoice_id: str
    status: str
    type: str
    priority: str
    scheduled_time: datetime
    created_time: datetime
    updated_time: datetime
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    calls_enabled: bool
    emails_enabled: bool
    voice_agent_id: str | None
    metadata_: dict[str, Any]
    run_at: datetime
    hold_reason: str | None
    status_reason: str | None
    completed_time: datetime | None


SNAPSHOT_FIELDS = CalloutSnapshot.__dataclass_fields__.keys()


def to_read(callout: CalloutFields) -> dict[str, Any]:
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
