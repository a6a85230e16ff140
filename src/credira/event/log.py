"""Appending events in the transaction of the change they describe.

``record`` keeps the event with the session; the session's ``before_commit`` writes every
event kept since the transaction began, in one statement, as the last thing before the
commit. So a change never commits without its events, and a transaction that rolls back (or
a session closed without committing) leaves none: they are dropped with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from credira.event import repository
from credira.event.types import EventType
from credira.kit.ids import new_ordered_id

_PENDING = "credira.events.pending"


def record(
    session: AsyncSession | Session,
    type_: EventType,
    *,
    account_id: str,
    object_id: str,
    data: dict[str, Any],
    now: datetime,
    invoice_id: str | None = None,
    callout_id: str | None = None,
) -> str:
    """Keep an event to be written with the session's next commit; its id."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    event_id = new_ordered_id("event")
    sync.info.setdefault(_PENDING, []).append(
        {
            "id": event_id,
            "account_id": account_id,
            "type": type_.value,
            "object_id": object_id,
            "invoice_id": invoice_id,
            "callout_id": callout_id,
            "created_time": now,
            "data": data,
        }
    )
    return event_id


def pending(session: AsyncSession | Session) -> list[dict[str, Any]]:
    """The events kept and not yet written (for tests and the bench)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return list(sync.info.get(_PENDING, ()))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        repository.append(session, rows)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # Written by before_commit, or rolled back with the transaction: either way, gone.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
