"""Rendering a voice agent's script with the invoice and the contact."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from credira.invoice.service import format_amount
from credira.models import Invoice, VoiceAgent

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def script_variables(
    invoice: Invoice, agent: VoiceAgent, company: str, customer_name: str | None, today: date
) -> dict[str, str]:
    overdue = max((today - invoice.due_date).days, 0)
    return {
        "customer_name": customer_name or invoice.customer_name,
        "invoice_number": invoice.number,
        "amount": f"{format_amount(invoice.amount, invoice.currency)} {invoice.currency}",
        "currency": invoice.currency,
        "due_date": invoice.due_date.isoformat(),
        "days_overdue": str(overdue),
        "company_name": company,
        "agent_name": agent.name,
        "payment_link": invoice.payment_url or "",
    }


def render_script(template: str, variables: Mapping[str, str]) -> str:
    """Replace ``{{name}}`` placeholders; the names were checked when the script was saved."""
    return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), template)
