"""An invoice's story as one timeline, built from its events (the event log) and its calls
(for the transcript and recording of each call). Pure: no database, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credira.models import Call, Event

# What each kind of event is called on the page.
_TITLES = {
    "invoice.created": "Invoice created",
    "invoice.updated": "Invoice updated",
    "invoice.paid": "Marked paid",
    "invoice.disputed": "Disputed",
    "invoice.voided": "Voided",
    "invoice.reopened": "Reopened",
    "invoice.promised": "Promise to pay",
    "invoice.plan_started": "Collection plan started",
    "invoice.plan_paused": "Collection plan paused",
    "invoice.plan_resumed": "Collection plan resumed",
    "invoice.plan_stopped": "Collection plan stopped",
    "invoice.plan_completed": "Collection plan completed",
    "plan_step.scheduled": "Plan step came due: callout scheduled",
    "plan_step.skipped": "Plan step came due: skipped",
    "callout.scheduled": "Callout scheduled",
    "callout.updated": "Callout changed",
    "callout.active": "Callout started",
    "callout.held": "Callout held",
    "callout.completed": "Callout completed",
    "callout.failed": "Callout failed",
    "callout.cancelled": "Callout cancelled",
    "callout.deleted": "Callout deleted",
}
# The facts shown under an event, when its data holds them.
_FACTS = (
    ("hold_reason", "Held because"),
    ("status_reason", "Reason"),
    ("reason", "Reason"),
    ("scheduled_time", "Scheduled for"),
    ("subject", "Subject"),
    ("recipient_email", "To"),
    ("opened_time", "Opened"),
    ("clicked_time", "Clicked"),
    ("outcome", "Outcome"),
    ("summary", "Summary"),
    ("step", "Step"),
    ("due_time", "Due"),
    ("duration", "Duration (s)"),
)
# Call events that end a call: the entry carries the call's transcript and recording.
_CALL_ENDINGS = frozenset(
    {"call.completed", "call.voicemail", "call.opted_out", "call.no_answer", "call.busy"}
)


@dataclass
class Entry:
    time: datetime
    type: str
    kind: str  # invoice, plan, callout, call, email
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    callout_id: str | None = None
    call: Call | None = None


def _title(type_: str) -> str:
    if type_ in _TITLES:
        return _TITLES[type_]
    noun, _, what = type_.partition(".")
    return f"{noun.capitalize()} {what.replace('_', ' ')}"


def _kind(type_: str) -> str:
    noun = type_.split(".", 1)[0]
    return "plan" if noun in ("plan_step",) or ".plan_" in type_ else noun


def _facts(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    for key, label in _FACTS:
        value = data.get(key)
        if value not in (None, "", [], {}):
            shown.append((label, str(value)))
    return shown


def build(events: Iterable[Event], calls: Mapping[str, Call]) -> list[Entry]:
    """The entries, oldest first; each call's ending carries the call (transcript, audio)."""
    entries: list[Entry] = []
    for event in sorted(events, key=lambda e: e.id):
        data = event.data or {}
        call = calls.get(event.object_id) if event.type in _CALL_ENDINGS else None
        entries.append(
            Entry(
                time=event.created_time,
                type=event.type,
                kind=_kind(event.type),
                title=_title(event.type),
                facts=_facts(data),
                callout_id=event.callout_id,
                call=call,
            )
        )
    return entries
