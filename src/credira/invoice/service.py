"""Invoice rules: exact amounts in the currency's precision, and settled debts stop outreach."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth.principal import Principal
from credira.callout import repository as callout_repository
from credira.errors import Conflict, NotFound, ValidationFailed
from credira.invoice import repository
from credira.invoice.schemas import SETTLED, InvoiceCreate, InvoiceUpdate
from credira.kit.clock import format_time
from credira.kit.ids import check_id, new_id
from credira.kit.validation import currency_precision
from credira.models import Invoice
from credira.user.service import merge_metadata


def _check_precision(amount: Decimal, currency: str) -> None:
    places = currency_precision(currency)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        error = ValidationFailed(
            "Invalid value for amount",
            details=f"{currency} amounts have at most {places} decimal places",
        )
        error.field = "amount"  # type: ignore[attr-defined]
        raise error


def format_amount(amount: Decimal, currency: str) -> str:
    places = currency_precision(currency)
    return str(amount.quantize(Decimal(1).scaleb(-places)))


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
    invoice = Invoice(
        id=new_id("invoice"),
        account_id=account_id,
        number=body.number,
        amount=body.amount,
        currency=body.currency,
        due_date=body.due_date,
        status=body.status,
        status_reason=None,
        customer_name=body.customer.name,
        customer_email=body.customer.email,
        customer_phone=body.customer.phone,
        customer_timezone=body.customer.timezone,
        payment_url=body.payment_url,
        metadata_=body.metadata,
        created_by=principal.user_id,
        created_time=now,
        updated_time=now,
    )
    session.add(invoice)
    await session.flush()
    return invoice


async def update(
    session: AsyncSession, invoice: Invoice, body: InvoiceUpdate, now: datetime
) -> Invoice:
    fields = body.model_dump(exclude_unset=True)
    if invoice.status == "void" and fields.get("status") not in (None, "void"):
        raise Conflict("Cannot change the status of a void invoice")
    number = fields.get("number")
    if number is not None and await repository.number_taken(
        session, invoice.account_id, number, except_id=invoice.id
    ):
        raise Conflict(f"An invoice numbered {number} already exists")
    amount = fields.get("amount") or invoice.amount
    currency = fields.get("currency") or invoice.currency
    _check_precision(amount, currency)
    for name in ("number", "amount", "currency", "due_date", "payment_url"):
        if name in fields and (fields[name] is not None or name == "payment_url"):
            setattr(invoice, name, fields[name])
    customer = fields.get("customer") or {}
    for name in ("name", "email", "phone", "timezone"):
        if name in customer and (customer[name] is not None or name != "name"):
            setattr(invoice, f"customer_{name}", customer[name])
    if fields.get("metadata") is not None:
        invoice.metadata_ = merge_metadata(invoice.metadata_, fields["metadata"])
    new_status = fields.get("status")
    if new_status is not None and new_status != invoice.status:
        invoice.status = new_status
        invoice.status_reason = fields.get("status_reason")
        if new_status in SETTLED:
            await callout_repository.cancel_pending_for_invoice(
                session, invoice.account_id, invoice.id, f"invoice {new_status}", now
            )
    elif "status_reason" in fields:
        invoice.status_reason = fields["status_reason"]
    # Never backwards (a clock that steps back) and never before created_time.
    invoice.updated_time = max(now, invoice.updated_time, invoice.created_time)
    await session.flush()
    return invoice


def to_read(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "account_id": invoice.account_id,
        "number": invoice.number,
        "amount": format_amount(invoice.amount, invoice.currency),
        "currency": invoice.currency,
        "due_date": invoice.due_date.isoformat(),
        "status": invoice.status,
        "status_reason": invoice.status_reason,
        "customer": {
            "name": invoice.customer_name,
            "email": invoice.customer_email,
            "phone": invoice.customer_phone,
            "timezone": invoice.customer_timezone,
        },
        "payment_url": invoice.payment_url,
        "promised_date": invoice.promised_date.isoformat() if invoice.promised_date else None,
        "metadata": invoice.metadata_,
        "created_time": format_time(invoice.created_time),
        "updated_time": format_time(invoice.updated_time),
    }
