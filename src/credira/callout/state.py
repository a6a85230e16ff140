"""The callout's life cycle: which status may follow which, what each change sets, and the
event each change appends. The one writer of a callout's status.

    (new) -> scheduled -> active -> completed | failed | cancelled
             scheduled <- active   (held by a rule, or waiting for a retry)
             scheduled -> cancelled | failed

Free of SQL and HTTP: the caller passes the time and the session whose transaction carries
the change (an event is kept with it and written at its commit, see ``credira.event.log``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.callout.view import CalloutFields, to_read
from credira.event.log import record
from credira.event.types import EventType
from credira.models import Callout


class CalloutStatus(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({CalloutStatus.COMPLETED, CalloutStatus.FAILED, CalloutStatus.CANCELLED})
PENDING = frozenset({CalloutStatus.SCHEDULED, CalloutStatus.ACTIVE})

_NEXT: dict[CalloutStatus, frozenset[CalloutStatus]] = {
    CalloutStatus.SCHEDULED: frozenset(
        {CalloutStatus.SCHEDULED, CalloutStatus.ACTIVE, CalloutStatus.CANCELLED}
    ),
    CalloutStatus.ACTIVE: frozenset({CalloutStatus.SCHEDULED, *FINISHED}),
    CalloutStatus.COMPLETED: frozenset(),
    CalloutStatus.FAILED: frozenset(),
    CalloutStatus.CANCELLED: frozenset(),
}
_FINISHED_EVENT = {
    CalloutStatus.COMPLETED: EventType.CALLOUT_COMPLETED,
    CalloutStatus.FAILED: EventType.CALLOUT_FAILED,
    CalloutStatus.CANCELLED: EventType.CALLOUT_CANCELLED,
}


class IllegalTransition(RuntimeError):
    """A change the life cycle does not allow: a programming error, never a client's."""


def _move(callout: Callout, to: CalloutStatus) -> None:
    current = CalloutStatus(callout.status)
    if to not in _NEXT[current]:
        raise IllegalTransition(f"callout {callout.id}: {current} -> {to}")
    callout.status = to.value


def _touch(callout: Callout, now: datetime) -> None:
    """``updated_time`` advances, never backwards (a clock that steps back, another host) and
    never before ``created_time``."""
    callout.updated_time = max(now, callout.updated_time or now, callout.created_time)


def _event(
    session: AsyncSession | Session, callout: CalloutFields, type_: EventType, now: datetime
) -> None:
    record(
        session,
        type_,
        account_id=callout.account_id,
        object_id=callout.id,
        invoice_id=callout.invoice_id,
        callout_id=callout.id,
        data=to_read(callout),
        now=now,
    )


def new(session: AsyncSession | Session, now: datetime, **fields: Any) -> Callout:
    """A new scheduled callout (every callout is built here), added to the session."""
    scheduled = fields.setdefault("scheduled_time", now)
    fields.setdefault("run_at", scheduled)
    fields.setdefault("attempt_count", 0)
    fields.setdefault("metadata_", {})
    callout = Callout(
        status=CalloutStatus.SCHEDULED.value, created_time=now, updated_time=now, **fields
    )
    session.add(callout)
    _event(session, callout, EventType.CALLOUT_SCHEDULED, now)
    return callout


def updated(session: AsyncSession | Session, callout: Callout, now: datetime) -> None:
    """A scheduled callout's fields changed (by the API): its status stays."""
    _touch(callout, now)
    _event(session, callout, EventType.CALLOUT_UPDATED, now)


def claim_values(worker_id: str, now: datetime, lease: timedelta) -> dict[str, Any]:
    """What claiming a scheduled (or abandoned active) callout sets, for the claim's one
    ``UPDATE`` of many rows; ``claimed`` records the events of those that were scheduled."""
    return {
        "status": CalloutStatus.ACTIVE.value,
        "lease_owner": worker_id,
        "lease_expires": now + lease,
        "updated_time": now,
    }


def claimed(session: AsyncSession | Session, callout: CalloutFields, now: datetime) -> None:
    """The event of a callout a worker took: ``callout`` is its row as the claim's one
    ``UPDATE ... RETURNING`` returned it (every field ``to_read`` shows; nothing is loaded)."""
    _event(session, callout, EventType.CALLOUT_ACTIVE, now)


def reschedule(
    session: AsyncSession | Session,
    callout: Callout,
    at: datetime,
    reason: str | None,
    now: datetime,
) -> None:
    """Back to scheduled, due at ``at``: held by a rule (``reason``, e.g. outside the calling
    window), or waiting for a retry. Also moves a scheduled callout's next attempt (a promise
    holding the invoice's other callouts)."""
    _move(callout, CalloutStatus.SCHEDULED)
    callout.run_at = at
    callout.hold_reason = reason
    callout.lease_owner = None
    callout.lease_expires = None
    _touch(callout, now)
    _event(
        session,
        callout,
        EventType.CALLOUT_HELD if reason is not None else EventType.CALLOUT_SCHEDULED,
        now,
    )


def finish(
    session: AsyncSession | Session,
    callout: Callout,
    status: CalloutStatus,
    reason: str | None,
    now: datetime,
) -> None:
    """Completed, failed or cancelled: final."""
    if status not in FINISHED:
        raise IllegalTransition(f"callout {callout.id}: {status} is not a final status")
    _move(callout, status)
    callout.status_reason = reason
    callout.completed_time = now
    callout.lease_owner = None
    callout.lease_expires = None
    callout.hold_reason = None
    _touch(callout, now)
    _event(session, callout, _FINISHED_EVENT[status], now)


def deleted(session: AsyncSession | Session, callout: Callout, now: datetime) -> None:
    """The callout is being deleted: its last event keeps what it was."""
    _event(session, callout, EventType.CALLOUT_DELETED, now)
