"""The call attempt's life cycle: which status may follow which, and the event each change
appends. The one writer of a call's status.

    (new) -> initiated -> ringing -> in_progress -> completed | no_answer | busy | failed
                                                   | voicemail | cancelled

A provider may skip statuses (a call can fail before it rings) and report the same status
twice; a final status is final. Free of SQL and HTTP.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.call.view import to_detail
from credira.event.log import record
from credira.event.types import EventType
from credira.models import Call


class CallStatus(StrEnum):
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    CANCELLED = "cancelled"


FINAL = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.NO_ANSWER,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.VOICEMAIL,
        CallStatus.CANCELLED,
    }
)
# Progress only moves forward: a late "ringing" after "in_progress" changes nothing.
_ORDER = {CallStatus.INITIATED: 0, CallStatus.RINGING: 1, CallStatus.IN_PROGRESS: 2}
EVENT_OF = {status: EventType(f"call.{status.value}") for status in CallStatus}
# Not a status: ``call.opted_out`` follows a final status when the debtor asked not to be called.


class IllegalTransition(RuntimeError):
    """A change the life cycle does not allow: a programming error, never a client's."""


def may_move(current: str, to: CallStatus) -> bool:
    """Whether a call in ``current`` may take ``to``: forward progress, or any final status
    from a status that is not final."""
    now = CallStatus(current)
    if now in FINAL:
        return False
    if to in FINAL:
        return True
    return _ORDER[to] > _ORDER[now]


def event(session: AsyncSession | Session, call: Call, public_url: str, now: datetime) -> None:
    """Append the event of the call's current status (its row already holds the change)."""
    record(
        session,
        EVENT_OF[CallStatus(call.status)],
        account_id=call.account_id,
        object_id=call.id,
        invoice_id=call.invoice_id,
        callout_id=call.callout_id,
        data=to_detail(call, public_url),
        now=now,
    )


def opted_out(session: AsyncSession | Session, call: Call, public_url: str, now: datetime) -> None:
    """The debtor asked on this call not to be called again (its status is unchanged)."""
    record(
        session,
        EventType.CALL_OPTED_OUT,
        account_id=call.account_id,
        object_id=call.id,
        invoice_id=call.invoice_id,
        callout_id=call.callout_id,
        data=to_detail(call, public_url),
        now=now,
    )


def idempotency_key(callout_id: str, attempt_number: int) -> str:
    """The key an attempt is dialled with: the provider places one call per key, so a retried
    dial of the same attempt never rings twice."""
    return f"{callout_id}:call:{attempt_number}"


def new(session: AsyncSession | Session, public_url: str, now: datetime, **fields: Any) -> Call:
    """A new attempt, ``initiated`` (every call row made by the API is built here)."""
    call = Call(status=CallStatus.INITIATED.value, created_time=now, updated_time=now, **fields)
    session.add(call)
    event(session, call, public_url, now)
    return call


def initiated_row(**fields: Any) -> dict[str, Any]:
    """A new attempt's row for a bulk insert (the worker writes many at once); its event is
    recorded with the insert (``event``)."""
    return {**fields, "status": CallStatus.INITIATED.value}


def progress(shown: str, reported: str) -> dict[str, Any]:
    """What a provider's report of a call in progress sets in a row that shows ``shown``: its
    status when the report moves it forward, else nothing (a late or repeated report). The
    worker writes it with others' in one statement, then records the event (``event``)."""
    to = CallStatus(reported)
    return {"status": to.value} if to not in FINAL and may_move(shown, to) else {}


def final(shown: str, reported: str) -> dict[str, Any]:
    """What the provider's final word sets in a call's row, or nothing if the row is final
    already (another worker concluded it first)."""
    to = CallStatus(reported)
    if to not in FINAL:
        raise IllegalTransition(f"{reported} is not a final call status")
    return {"status": to.value} if may_move(shown, to) else {}


def move(
    session: AsyncSession | Session,
    call: Call,
    to: CallStatus,
    public_url: str,
    now: datetime,
    **fields: Any,
) -> bool:
    """Move the call to ``to`` with ``fields``; False (nothing changed) when the life cycle
    does not allow it (a late or repeated report)."""
    if not may_move(call.status, to):
        return False
    call.status = to.value
    for name, value in fields.items():
        setattr(call, name, value)
    call.updated_time = max(now, call.updated_time)
    event(session, call, public_url, now)
    return True
