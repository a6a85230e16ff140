"""What a real provider reports of a call (a callback, a read of its API), and how a report is
merged into the call's row in ``provider_calls``: the status only moves forward (the call's
life cycle, ``call.state.may_move``, decides), and a value once known is kept, so late,
repeated and reordered reports change nothing. Pure but for the row it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from credira.call.state import CallStatus as LifeCycle
from credira.call.state import may_move
from credira.channel.voice.port import FINAL_STATUSES, CallStatus, ProviderCall
from credira.models import ProviderCall as CallRow


@dataclass(frozen=True)
class Report:
    """What one callback or one read of Twilio's API says of a call."""

    sid: str | None = None
    status: CallStatus | None = None
    at: datetime | None = None
    answered_by: str | None = None
    duration: int | None = None
    answered_time: datetime | None = None
    ended_time: datetime | None = None
    cost: str | None = None
    currency: str | None = None
    recording_url: str | None = None
    transcript: str | None = None
    digits: str | None = None
    error: str | None = None


def merge(row: CallRow, report: Report, now: datetime) -> bool:
    """Apply a report to the call's row: the status only moves forward (a late, repeated or
    reordered report changes nothing), a value once known is kept. Whether anything changed."""
    changed = False
    if report.sid and row.provider_call_id is None:
        row.provider_call_id = report.sid
        changed = True
    if report.sid and row.provider_call_id != report.sid:
        return False  # another call's report: never mixed in
    if report.status is not None and may_move(row.reported, LifeCycle(report.status)):
        row.reported = report.status
        changed = True
    final = row.reported in FINAL_STATUSES
    updates = {
        "answered_by": report.answered_by,
        "digits": report.digits,
        "answered_time": report.answered_time,
        "ended_time": report.ended_time if final else None,
        "duration": report.duration if final else None,
        "cost": report.cost,
        "currency": report.currency,
        "recording_url": report.recording_url,
        "transcript": report.transcript,
        "error": report.error,
    }
    for name, value in updates.items():
        if value is not None and getattr(row, name) is None:
            setattr(row, name, value)
            changed = True
    if changed:
        row.heard_time = max(now, row.heard_time)
    return changed


def answered_time(row: CallRow) -> datetime | None:
    """When the call was answered: as reported, else its end less its length (the answered
    event may be lost or come last)."""
    if row.answered_time is not None:
        return row.answered_time
    if row.ended_time is not None and row.duration:
        return row.ended_time - timedelta(seconds=row.duration)
    return None


def shown(row: CallRow) -> ProviderCall:
    """The row as the port shows it, for a provider that reports the call's own transcript
    (an AI agent run by the provider: Vapi, Retell)."""
    status = cast(CallStatus, row.reported)
    final = status in FINAL_STATUSES
    return ProviderCall(
        provider_call_id=row.provider_call_id or "",
        status=status,
        answered_time=answered_time(row),
        ended_time=(row.ended_time or row.heard_time) if final else None,
        duration=(row.duration or 0) if final else None,
        transcript=row.transcript if final and status in ("completed", "voicemail") else None,
        from_number=row.from_number,
        cost=row.cost,
        currency=row.currency,
        error=row.error if status == "failed" else None,
    )
