"""Invoice rules: exact amounts in the currency's precision, and settled debts stop outreach."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth.principal import Principal
from credira.callout import repository as callout_repository
from credira.errors import Conflict, NotFound, ValidationFailed
from credira.invoice import repository, state
from credira.invoice.schemas import InvoiceCreate, InvoiceUpdate
from credira.invoice.state import SETTLED, InvoiceStatus
from credira.invoice.view import format_amount as format_amount
from credira.invoice.view import to_read as to_read
from credira.kit.ids import check_id, new_id
from credira.kit.metadata import merge_metadata
from credira.kit.validation import currency_precision
from credira.models import Invoice


def _check_precision(amount: Decimal, currency: str) -> None:
    places = currency_precision(currency)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        error = ValidationFailed(
            "Invalid value for amount",
            details=f"{currency} amounts have at most {places} decimal places",
            field="amount",
        )
        raise error


async def get(session: AsyncSession, account_id: str, invoice_id: str) -> Invoice:
    check_id("invoice", invoice_id)
    invoice = await repository.get(session, account_id, invoice_id)
    if invoice is None:
        raise NotFound("Invoice not found")
    return invoice


async def create(
    session: AsyncSession, principal: Principal, account_id: str, body: InvoiceCreate, now: datetime
) -> Invoice:
    _check_precision(body.amount, body.currency)
    if await repository.number_taken(session, account_id, body.number):
        raise Conflict(f"An invoice numbered {body.number} already exists")
    invoice = state.new(
        session,
        now,
        id=new_id("invoice"),
        account_id=account_id,
        number=body.number,
        amount=body.amount,
        currency=body.currency,
        due_date=body.due_date,
        status=InvoiceStatus(body.status),
        customer_name=body.customer.name,
        customer_email=body.customer.email,
        customer_phone=body.customer.phone,
        customer_timezone=body.customer.timezone,
        payment_url=body.payment_url,
        metadata_=body.metadata,
        created_by=principal.user_id,
    )
    await session.flush()
    return invoice


async def update(
    session: AsyncSession, invoice: Invoice, body: InvoiceUpdate, now: datetime, public_url: str
) -> Invoice:
    """Apply ``body``; a change of status goes through the life cycle, and settling the invoice
    cancels its pending callouts and undialled calls (``public_url`` is for their events)."""
    fields = body.model_dump(exclude_unset=True)
    to = InvoiceStatus(fields["status"]) if fields.get("status") is not None else None
    if to == invoice.status:
        to = None  # staying in a status is no move
    if to is not None and not state.may_move(invoice.status, to):
        raise Conflict(f"Cannot change the status of a {invoice.status} invoice")
    number = fields.get("number")
    if number is not None and await repository.number_taken(
        session, invoice.account_id, number, except_id=invoice.id
    ):
        raise Conflict(f"An invoice numbered {number} already exists")
    amount = fields.get("amount") or invoice.amount
    currency = fields.get("currency") or invoice.currency
    _check_precision(amount, currency)
    before = to_read(invoice)
    for name in ("number", "amount", "currency", "due_date", "payment_url"):
        if name in fields and (fields[name] is not None or name == "payment_url"):
            setattr(invoice, name, fields[name])
    customer = fields.get("customer") or {}
    for name in ("name", "email", "phone", "timezone"):
        if name in customer and (customer[name] is not None or name != "name"):
            setattr(invoice, f"customer_{name}", customer[name])
    if fields.get("metadata") is not None:
        invoice.metadata_ = merge_metadata(invoice.metadata_, fields["metadata"])
    if to is None and "status_reason" in fields:
        invoice.status_reason = fields["status_reason"]
    if to is None:
        state.updated(session, invoice, now)
    else:
        if _changed(before, to_read(invoice)):
            state.updated(session, invoice, now)
        state.move(session, invoice, to, fields.get("status_reason"), now)
        if to in SETTLED:
            # The invoice's row first: the order every writer locks an invoice and its
            # callouts in.
            await session.flush()
            await callout_repository.cancel_pending_for_invoice(
                session, invoice.account_id, invoice.id, f"invoice {to}", now, public_url
            )
    await session.flush()
    return invoice


def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a field other than the status (and the time of the change) differs."""
    ignored = ("status", "status_reason", "updated_time")
    return any(before[key] != after[key] for key in after if key not in ignored)
