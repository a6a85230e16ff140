"""An invoice's timeline from its events: in order, each call's ending carrying the call, the
reason of a hold and the facts of an email shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from credira.dashboard.timeline import build
from credira.models import Call, Event

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _event(n: int, type_: str, object_id: str, **data: Any) -> Event:
    return Event(
        id=f"evt_{n:04d}",
        account_id="acc_1",
        type=type_,
        object_id=object_id,
        invoice_id="inv_1",
        callout_id="callout_1" if not type_.startswith("invoice") else None,
        created_time=T0 + timedelta(minutes=n),
        data=data,
    )


def test_timeline_tells_the_story_in_order() -> None:
    call = Call(id="call_1", transcript="Agent: Hello", recording_path="/r/call_1.wav")
    events = [
        _event(5, "call.completed", "call_1", duration=42),
        _event(1, "invoice.created", "inv_1"),
        _event(3, "callout.held", "callout_1", hold_reason="outside_calling_hours"),
        _event(4, "call.initiated", "call_1"),
        _event(6, "email.opened", "email_1", subject="Invoice due", opened_time="2026-12-01"),
        _event(7, "plan_step.skipped", "pstep_1", step=2, reason="paused"),
        _event(8, "invoice.plan_paused", "inv_1"),
    ]
    entries = build(events, {"call_1": call})
    assert [e.type for e in entries] == [
        "invoice.created",
        "callout.held",
        "call.initiated",
        "call.completed",
        "email.opened",
        "plan_step.skipped",
        "invoice.plan_paused",
    ]
    by_type = {e.type: e for e in entries}
    assert by_type["call.completed"].call is call
    assert by_type["call.initiated"].call is None  # only the ending shows the recording
    assert ("Held because", "outside_calling_hours") in by_type["callout.held"].facts
    assert ("Subject", "Invoice due") in by_type["email.opened"].facts
    assert ("Opened", "2026-12-01") in by_type["email.opened"].facts
    assert by_type["plan_step.skipped"].kind == "plan"
    assert by_type["invoice.plan_paused"].kind == "plan"
    assert by_type["invoice.plan_paused"].title == "Collection plan paused"
    assert by_type["email.opened"].title == "Email opened"


def test_a_call_of_another_invoice_is_not_attached() -> None:
    entries = build([_event(1, "call.completed", "call_9")], {"call_1": Call(id="call_1")})
    assert entries[0].call is None
