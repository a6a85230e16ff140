"""The invoice's life cycle: which status may follow which, what each change sets, and the
event each change appends. The one writer of an invoice's status.

    (new) -> open | paid | void | disputed
    open <-> paid <-> disputed <-> open     (any of the three to any other)
    open | paid | disputed -> void          (final)

Paid, void and disputed are settled: outreach stops (the caller cancels the invoice's pending
callouts, see ``credira.callout.repository.cancel_pending_for_invoice``). Free of SQL and
HTTP: the caller passes the time and the session whose transaction carries the change (an
event is kept with it and written at its commit, see ``credira.event.log``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from credira.event.log import record
from credira.event.types import EventType
from credira.invoice.view import to_read
from credira.models import Invoice


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    DISPUTED = "disputed"


SETTLED = frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.DISPUTED})

_NEXT: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.DISPUTED}),
    InvoiceStatus.PAID: frozenset({InvoiceStatus.OPEN, InvoiceStatus.VOID, InvoiceStatus.DISPUTED}),
    InvoiceStatus.DISPUTED: frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.VOID: frozenset(),
}
_EVENT = {
    InvoiceStatus.OPEN: EventType.INVOICE_REOPENED,
    InvoiceStatus.PAID: EventType.INVOICE_PAID,
    InvoiceStatus.VOID: EventType.INVOICE_VOIDED,
    InvoiceStatus.DISPUTED: EventType.INVOICE_DISPUTED,
}


class IllegalTransition(RuntimeError):
    """A change the life cycle does not allow: a programming error, never a client's (the
    service refuses those with ``may_move`` first)."""


def may_move(current: str, to: InvoiceStatus) -> bool:
    """Whether an invoice in ``current`` may take ``to`` (staying in the same status is no
    move)."""
    return to in _NEXT[InvoiceStatus(current)]


def _touch(invoice: Invoice, now: datetime) -> None:
    """``updated_time`` advances, never backwards (a clock that steps back, another host) and
    never before ``created_time``."""
    invoice.updated_time = max(now, invoice.updated_time or now, invoice.created_time)


def _event(
    session: AsyncSession | Session, invoice: Invoice, type_: EventType, now: datetime
) -> None:
    record(
        session,
        type_,
        account_id=invoice.account_id,
        object_id=invoice.id,
        invoice_id=invoice.id,
        data=to_read(invoice),
        now=now,
    )


def new(session: AsyncSession | Session, now: datetime, **fields: Any) -> Invoice:
    """A new invoice (every invoice is built here), in ``status`` (open unless given), added
    to the session: one ``invoice.created`` whatever its status."""
    status = InvoiceStatus(fields.pop("status", InvoiceStatus.OPEN))
    fields.setdefault("status_reason", None)
    fields.setdefault("metadata_", {})
    invoice = Invoice(status=status.value, created_time=now, updated_time=now, **fields)
    session.add(invoice)
    _event(session, invoice, EventType.INVOICE_CREATED, now)
    return invoice


def updated(session: AsyncSession | Session, invoice: Invoice, now: datetime) -> None:
    """Fields other than the status changed (by the API)."""
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_UPDATED, now)


def move(
    session: AsyncSession | Session,
    invoice: Invoice,
    to: InvoiceStatus,
    reason: str | None,
    now: datetime,
) -> None:
    """Paid, disputed, voided or reopened, with ``reason`` as ``status_reason``."""
    current = InvoiceStatus(invoice.status)
    if not may_move(current, to):
        raise IllegalTransition(f"invoice {invoice.id}: {current} -> {to}")
    invoice.status = to.value
    invoice.status_reason = reason
    _touch(invoice, now)
    _event(session, invoice, _EVENT[to], now)


def promised(
    session: AsyncSession | Session, invoice: Invoice, promised_date: date, now: datetime
) -> None:
    """The debtor promised to pay by ``promised_date`` (its status stays)."""
    invoice.promised_date = promised_date
    _touch(invoice, now)
    _event(session, invoice, EventType.INVOICE_PROMISED, now)
