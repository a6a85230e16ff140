"""Variables from the data: amounts written in the invoice currency and the contact's locale."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from credira.email_template.variables import default_variables, merged
from credira.models import Invoice

TODAY = date(2024, 2, 9)


def _invoice(
    amount: str = "1250.00", currency: str = "USD", payment_url: str | None = None
) -> Invoice:
    return Invoice(
        number="INV-001",
        amount=Decimal(amount),
        currency=currency,
        due_date=date(2024, 1, 30),
        customer_name="John Doe",
        payment_url=payment_url,
    )


@pytest.mark.parametrize(
    ("currency", "amount", "locale", "expected"),
    [
        ("USD", "1250.00", "en_US", "$1,250.00"),
        ("USD", "1250.00", "de_DE", "1.250,00\xa0$"),
        ("USD", "1250.00", "fr_FR", "1\u202f250,00\xa0$US"),
        ("EUR", "1250.5", "en_US", "€1,250.50"),
        ("EUR", "1250.00", "de_DE", "1.250,00\xa0€"),
        ("EUR", "1250.00", "fr_FR", "1\u202f250,00\xa0€"),
        ("JPY", "1250", "en_US", "¥1,250"),
        ("JPY", "1250", "de_DE", "1.250\xa0¥"),
        ("JPY", "1250", "fr_FR", "1\u202f250\xa0JPY"),
        # Language tags as agents write them, and tags Babel does not know (falls back to en_US).
        ("USD", "1250.00", "en-US", "$1,250.00"),
        ("EUR", "1250.00", "de", "1.250,00\xa0€"),
        ("USD", "1250.00", "xx_YY", "$1,250.00"),
        ("USD", "1250.00", "", "$1,250.00"),
    ],
)
def test_amount_is_formatted_in_the_invoice_currency_and_locale(
    currency: str, amount: str, locale: str, expected: str
) -> None:
    variables = default_variables(
        _invoice(amount, currency), customer_name=None, locale=locale, today=TODAY, payment_url=None
    )
    assert variables["amount"] == expected
    assert variables["currency"] == currency


@pytest.mark.parametrize(
    ("today", "overdue"),
    [(date(2024, 1, 1), "0"), (date(2024, 1, 30), "0"), (date(2024, 1, 31), "1"), (TODAY, "10")],
)
def test_days_overdue_counts_from_the_due_date_and_is_never_negative(
    today: date, overdue: str
) -> None:
    variables = default_variables(
        _invoice(), customer_name=None, locale="en_US", today=today, payment_url=None
    )
    assert variables["days_overdue"] == overdue


def test_variables_come_from_the_invoice() -> None:
    variables = default_variables(
        _invoice(), customer_name=None, locale="en_US", today=TODAY, payment_url=None
    )

    assert variables == {
        "customer_name": "John Doe",
        "invoice_number": "INV-001",
        "amount": "$1,250.00",
        "currency": "USD",
        "due_date": "2024-01-30",
        "days_overdue": "10",
    }


@pytest.mark.parametrize(
    ("invoice_url", "given_url", "expected"),
    [
        (None, None, None),
        ("https://pay.example.com/inv/1", None, "https://pay.example.com/inv/1"),
        ("https://pay.example.com/inv/1", "https://t.example/c/abc", "https://t.example/c/abc"),
    ],
)
def test_payment_link_is_present_only_when_there_is_one(
    invoice_url: str | None, given_url: str | None, expected: str | None
) -> None:
    variables = default_variables(
        _invoice(payment_url=invoice_url),
        customer_name=None,
        locale="en_US",
        today=TODAY,
        payment_url=given_url,
    )
    assert variables.get("payment_link") == expected
    assert ("payment_link" in variables) is (expected is not None)


def test_contact_name_wins_over_the_invoice_customer() -> None:
    variables = default_variables(
        _invoice(), customer_name="Jane Roe", locale="en_US", today=TODAY, payment_url=None
    )
    assert variables["customer_name"] == "Jane Roe"


def test_client_variables_override_the_data_key_by_key() -> None:
    defaults = default_variables(
        _invoice(), customer_name=None, locale="en_US", today=TODAY, payment_url=None
    )

    result = merged(defaults, {"amount": "1250.00", "extra": "x"})

    assert result["amount"] == "1250.00"
    assert result["extra"] == "x"
    assert result["invoice_number"] == "INV-001"
    assert merged(defaults, None) == defaults
