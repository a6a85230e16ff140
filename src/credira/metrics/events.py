"""Outcomes counted from the event log: every committed event counts by its type, and the ends
of calls, emails and callouts (and the refusals they record) count by outcome. The events of a
transaction are taken just before the log writes them and counted only once it has committed,
so a rolled-back change counts nothing, in whichever process made it (API, worker)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from credira.event import log
from credira.metrics.registry import (
    CALLOUTS_FINISHED,
    CALLS,
    CLAIM_LATENESS,
    EMAILS,
    EVENTS,
    PROVIDER_ERRORS,
    SMTP_ERRORS,
)

_TAKEN = "credira.metrics.events"

CALL_ENDS = {"completed", "no_answer", "busy", "failed", "voicemail", "cancelled"}
EMAIL_ENDS = {"delivered", "bounced", "unconfirmed", "failed", "cancelled"}
CALLOUT_ENDS = {"completed", "failed", "cancelled"}


def count(events: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Count committed events, each ``(type, data)``."""
    for type_, data in events:
        EVENTS.labels(type_).inc()
        noun, _, what = type_.partition(".")
        if noun == "call" and what in CALL_ENDS:
            CALLS.labels(what).inc()
            if what == "failed":
                PROVIDER_ERRORS.inc()
        elif noun == "email":
            if what in EMAIL_ENDS:
                EMAILS.labels(what).inc()
            if what in ("bounced", "failed"):
                SMTP_ERRORS.labels(what).inc()
            elif what == "scheduled" and str(data.get("status_reason") or "").startswith(
                "deferred"
            ):
                SMTP_ERRORS.labels("deferred").inc()
        elif noun == "callout" and what in CALLOUT_ENDS:
            CALLOUTS_FINISHED.labels(what).inc()


def claim_lateness(now: datetime, due: datetime | None) -> None:
    """A worker started the run of a callout due at ``due``."""
    if due is not None:
        CLAIM_LATENESS.observe(max(0.0, (now - due).total_seconds()))


# Before the log's own before_commit listener (insert=True), which takes the events away.
@event.listens_for(Session, "before_commit", insert=True)
def _take(session: Session) -> None:
    pending = log.pending(session)
    if pending:
        session.info[_TAKEN] = [(e["type"], e["data"]) for e in pending]


@event.listens_for(Session, "after_commit")
def _count(session: Session) -> None:
    taken = session.info.pop(_TAKEN, None)
    if taken:
        count(taken)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_TAKEN, None)
