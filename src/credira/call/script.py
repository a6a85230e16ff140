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


def render_script(template: str, variables: Mapping[str, str], *, max_chars: int) -> str:
    """Replace ``{{name}}`` placeholders; the names were checked when the script was saved.

    What a script renders grows as its placeholders times its variables' length (20,000
    characters of ``{{payment_link}}`` with a 2,000-character link make 2.5 MB), so it is built
    piece by piece and cut at ``max_chars`` (``CREDIRA_RENDERED_PART_MAX_CHARS``): nothing past
    that is built, and no call lasts long enough to say it."""
    pieces: list[str] = []
    room = max_chars
    at = 0
    for match in _PLACEHOLDER.finditer(template):
        for piece in (template[at : match.start()], variables.get(match.group(1), "")):
            pieces.append(piece[:room])
            room -= len(pieces[-1])
            if room <= 0:
                return "".join(pieces)
        at = match.end()
    pieces.append(template[at:][:room])
    return "".join(pieces)
