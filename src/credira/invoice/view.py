"""The invoice as the API shows it (also each invoice event's ``data``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from credira.kit.clock import format_time
from credira.kit.validation import currency_precision
from credira.models import Invoice
from credira.plan.view import invoice_plan_read

__all__ = ["format_amount", "to_read"]


def format_amount(amount: Decimal, currency: str) -> str:
    places = currency_precision(currency)
    return str(amount.quantize(Decimal(1).scaleb(-places)))


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
        "plan_id": invoice.plan_id,
        "plan": invoice_plan_read(invoice),
        "created_time": format_time(invoice.created_time),
        "updated_time": format_time(invoice.updated_time),
    }
