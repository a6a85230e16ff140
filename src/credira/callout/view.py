"""The callout as the API shows it (also each callout event's ``data``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from credira.kit.clock import format_time

__all__ = ["SNAPSHOT_FIELDS", "CalloutFields", "to_read"]


class CalloutFields(Protocol):
    """What the API shows of a callout: a ``Callout``, or a row of a statement that returned
    these fields under these names."""

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


# The fields ``to_read`` reads, by attribute name: what the worker's claim reads back of each
# callout it took (one ``UPDATE ... RETURNING`` for a batch, its rows passed to ``to_read`` as
# they are, instead of loading ORM objects).
SNAPSHOT_FIELDS = (
    "id",
    "account_id",
    "invoice_id",
    "status",
    "type",
    "priority",
    "scheduled_time",
    "created_time",
    "updated_time",
    "contact_name",
    "contact_email",
    "contact_phone",
    "calls_enabled",
    "emails_enabled",
    "voice_agent_id",
    "metadata_",
    "run_at",
    "hold_reason",
    "status_reason",
    "completed_time",
)


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
