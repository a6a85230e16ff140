"""The call both analysis test modules ask about: a promise of 100 USD on Friday in a New York
debtor's words, the invoice it is about, and a valid answer for it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from credira.llm.analysis import CallFacts, InvoiceFacts

ZONE = ZoneInfo("America/New_York")
ENDED = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)  # 10:30 in New York
TODAY = date(2026, 12, 8)
TRANSCRIPT = (
    "Agent: Hello, this is Ava from Acme about invoice INV-7 for 250.00 USD.\n"
    "Debtor: Yes, sorry, I can pay 100 on Friday and the rest next month."
)
INVOICE = InvoiceFacts(
    number="INV-7",
    currency="USD",
    amount=Decimal("250.00"),
    due_date="2026-11-01",
    customer_name="John Doe",
    company_name="Acme",
)
CALL = CallFacts(TRANSCRIPT, ENDED, ZONE, INVOICE)


def answer(**changes: Any) -> dict[str, Any]:
    """A valid answer (a promise of 100 USD on Friday 11 December), with ``changes``."""
    base: dict[str, Any] = {
        "outcome": "promise_to_pay",
        "promise": {"date": "2026-12-11", "amount": 100, "currency": "USD"},
        "dispute_reason": None,
        "callback_at": None,
        "opt_out": False,
        "summary": "The debtor promised to pay 100 USD on Friday.",
        "sentiment": "positive",
        "confidence": 0.9,
    }
    return base | changes
