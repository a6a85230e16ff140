"""The email's life cycle: which status may follow which, what each change sets, and the event
each change appends. The one writer of an email's status.

    (new) -> scheduled -> sending -> sent -> delivered | bounced | unconfirmed
             scheduled -> cancelled | failed         (the contact rules refuse it)
             sending | sent -> scheduled             (deferred by the mail server, or held)
             sending | sent -> bounced | failed | cancelled
             sending | sent -> sending               (the next attempt, after a takeover)
             unconfirmed -> delivered | scheduled    (POST /v1/emails/{id}/reconcile)
             unconfirmed -> delivered | bounced | scheduled | failed
                                                     (the stalled attempt's reply, recorded late)

``sending`` is an attempt's own step before its point of no return (see
``credira.email.dispatch``): it appends no event, because what follows within the same attempt
(``sent``, or ``scheduled``/``bounced`` when the server refused sender or recipient) does. Every
other change of status appends ``email.<status>``; a move back to ``scheduled`` (a deferral, a
hold, a reconciliation that sends again) appends ``email.scheduled`` with the reason in
``status_reason``. Opens, clicks and unsubscribes are telemetry, not statuses: their columns are
written by conditional updates that only the first one wins, and the winner appends the event.

Free of SQL and HTTP: the caller passes the time and the session whose transaction carries the
change (an event is kept with it and written at its commit, see ``credira.event.log``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.email.view import to_detail
from credira.event.log import record
from credira.event.types import EventType
from credira.models import Email


class EmailStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNCONFIRMED = "unconfirmed"
    BOUNCED = "bounced"
    FAILED = "failed"
    CANCELLED = "cancelled"


# An attempt under way: ``sending`` until the mail server accepted sender and recipient,
# ``sent`` from the moment the message itself went.
IN_FLIGHT = (EmailStatus.SENDING, EmailStatus.SENT)
# Not at an end: the worker still has it to send (or to find out about).
PENDING = (EmailStatus.SCHEDULED, *IN_FLIGHT)
FINAL = frozenset(
    {EmailStatus.DELIVERED, EmailStatus.BOUNCED, EmailStatus.FAILED, EmailStatus.CANCELLED}
)

_OUT_OF_FLIGHT = frozenset({EmailStatus.SCHEDULED, *FINAL})
_NEXT: dict[EmailStatus, frozenset[EmailStatus]] = {
    EmailStatus.SCHEDULED: frozenset(
        {EmailStatus.SCHEDULED, EmailStatus.SENDING, EmailStatus.FAILED, EmailStatus.CANCELLED}
    ),
    EmailStatus.SENDING: frozenset({EmailStatus.SENDING, EmailStatus.SENT, *_OUT_OF_FLIGHT}),
    EmailStatus.SENT: frozenset({EmailStatus.SENDING, EmailStatus.UNCONFIRMED, *_OUT_OF_FLIGHT}),
    EmailStatus.UNCONFIRMED: frozenset(
        {
            EmailStatus.SCHEDULED,
            EmailStatus.DELIVERED,
            EmailStatus.BOUNCED,
            EmailStatus.FAILED,
        }
    ),
    EmailStatus.DELIVERED: frozenset(),
    EmailStatus.BOUNCED: frozenset(),
    EmailStatus.FAILED: frozenset(),
    EmailStatus.CANCELLED: frozenset(),
}
_EVENT: dict[EmailStatus, EventType] = {
    EmailStatus.SCHEDULED: EventType.EMAIL_SCHEDULED,
    EmailStatus.SENT: EventType.EMAIL_SENT,
    EmailStatus.DELIVERED: EventType.EMAIL_DELIVERED,
    EmailStatus.UNCONFIRMED: EventType.EMAIL_UNCONFIRMED,
    EmailStatus.BOUNCED: EventType.EMAIL_BOUNCED,
    EmailStatus.FAILED: EventType.EMAIL_FAILED,
    EmailStatus.CANCELLED: EventType.EMAIL_CANCELLED,
}
BOUNCE_REASON = "the receiving server refused the message permanently"


class IllegalTransition(RuntimeError):
    """A change the life cycle does not allow: a programming error, never a client's."""


def _event(session: AsyncSession | Session, email: Email, type_: EventType, now: datetime) -> None:
    record(
        session,
        type_,
        account_id=email.account_id,
        object_id=email.id,
        invoice_id=email.invoice_id,
        callout_id=email.callout_id,
        data=to_detail(email),
        now=now,
    )


def _move(
    session: AsyncSession | Session,
    email: Email,
    to: EmailStatus,
    now: datetime,
    **fields: Any,
) -> None:
    """Check the change, set ``fields`` and the status, advance ``updated_time`` and append the
    change's event. Every change but the start of an attempt also ends the worker's lease."""
    current = EmailStatus(email.status)
    if to not in _NEXT[current]:
        raise IllegalTransition(f"email {email.id}: {current} -> {to}")
    for name, value in fields.items():
        setattr(email, name, value)
    email.status = to.value
    # Never backwards (a clock that steps back, another host), never before its creation.
    email.updated_time = max(now, email.updated_time or now, email.created_time or now)
    if to is not EmailStatus.SENDING:
        email.lease_owner = None
        email.lease_expires = None
        _event(session, email, _EVENT[to], now)


def new(session: AsyncSession | Session, now: datetime, **fields: Any) -> Email:
    """A new scheduled email (every email row is built here), added to the session."""
    fields.setdefault("attempt_count", 0)
    fields.setdefault("bounced", False)
    fields.setdefault("unsubscribed", False)
    email = Email(status=EmailStatus.SCHEDULED.value, created_time=now, updated_time=now, **fields)
    session.add(email)
    _event(session, email, EventType.EMAIL_SCHEDULED, now)
    return email


def attempt(session: AsyncSession | Session, email: Email, now: datetime) -> int:
    """An attempt starts (the contact rules let it go): ``sending``, counted as a contact from
    now on (``sent_time``); the attempt's number."""
    _move(
        session,
        email,
        EmailStatus.SENDING,
        now,
        sent_time=email.sent_time or now,
        attempt_count=email.attempt_count + 1,
    )
    return email.attempt_count


# The hand-over is one conditional UPDATE (only the attempt that still owns the email may let
# the message go): what it matches, what it sets; ``handed_over`` appends the event of the row
# it returned.
HAND_OVER_FROM = EmailStatus.SENDING


def hand_over_values(now: datetime) -> dict[str, Any]:
    return {"status": EmailStatus.SENT.value, "updated_time": now}


def handed_over(session: AsyncSession | Session, email: Email, now: datetime) -> None:
    """The event of an email the hand-over's UPDATE just moved to ``sent``."""
    _event(session, email, EventType.EMAIL_SENT, now)


def unconfirmed(session: AsyncSession | Session, email: Email, reason: str, now: datetime) -> None:
    """An attempt found ``sent`` by the next one: it may have gone; never sent again blindly."""
    _move(session, email, EmailStatus.UNCONFIRMED, now, status_reason=reason)


def delivered(
    session: AsyncSession | Session,
    email: Email,
    now: datetime,
    *,
    reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """The receiving server accepted it (``at``: when, if known to be earlier than ``now``)."""
    _move(
        session, email, EmailStatus.DELIVERED, now, delivered_time=at or now, status_reason=reason
    )


def bounced(session: AsyncSession | Session, email: Email, now: datetime) -> None:
    """The receiving server refused it for good."""
    _move(session, email, EmailStatus.BOUNCED, now, bounced=True, status_reason=BOUNCE_REASON)


def reschedule(
    session: AsyncSession | Session,
    email: Email,
    at: datetime,
    reason: str,
    now: datetime,
    *,
    unsent: bool = False,
) -> None:
    """Back to ``scheduled``, due at ``at``: deferred by the mail server, held by a contact rule,
    or (``unsent``) found by reconciliation never to have left, so it no longer counts as a
    contact."""
    fields: dict[str, Any] = {"run_at": at, "status_reason": reason}
    if unsent:
        fields["sent_time"] = None
    _move(session, email, EmailStatus.SCHEDULED, now, **fields)


def fail(session: AsyncSession | Session, email: Email, reason: str, now: datetime) -> None:
    _move(session, email, EmailStatus.FAILED, now, status_reason=reason)


def cancel(session: AsyncSession | Session, email: Email, reason: str, now: datetime) -> None:
    _move(session, email, EmailStatus.CANCELLED, now, status_reason=reason)


# -- telemetry: the rows are written by conditional updates, whose winner appends the event --


def opened(session: AsyncSession | Session, email: Email, now: datetime) -> None:
    """The first open of the email (its ``opened_time`` was just set)."""
    _event(session, email, EventType.EMAIL_OPENED, now)


def clicked(session: AsyncSession | Session, email: Email, now: datetime) -> None:
    """The first click of a link in the email (its ``clicked_time`` was just set)."""
    _event(session, email, EventType.EMAIL_CLICKED, now)


def unsubscribed(session: AsyncSession | Session, email: Email, now: datetime) -> None:
    """The recipient unsubscribed through the email (its ``unsubscribed`` was just set)."""
    _event(session, email, EventType.EMAIL_UNSUBSCRIBED, now)
