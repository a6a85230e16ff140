"""The variables an email gets from its invoice when the client does not give them.

Explicit ``variables`` sent by a client override these, key by key (see ``merged``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

from credira.models import Invoice

DEFAULT_LOCALE = "en_US"

# Every name ``default_variables`` can produce, for documentation and checks.
NAMES = (
    "customer_name",
    "invoice_number",
    "amount",
    "currency",
    "due_date",
    "days_overdue",
    "payment_link",
)


@lru_cache(maxsize=256)
def _locale(tag: str) -> Locale:
    """``en-US``, ``en_US`` or ``de`` as a Babel locale; anything unknown falls back to
    ``en_US`` rather than failing an email over a contact's odd language tag."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


def format_amount(invoice: Invoice, locale: str) -> str:
    """The amount in the invoice currency, written the way ``locale`` writes money:
    ``$1,250.00`` (en_US), ``1.250,00 $`` (de_DE, with a no-break space), ``¥1,250``."""
    return str(format_currency(invoice.amount, invoice.currency, locale=_locale(locale)))


def default_variables(
    invoice: Invoice,
    *,
    customer_name: str | None,
    locale: str,
    today: date,
    payment_url: str | None,
) -> dict[str, str]:
    """Variables from the data: ``customer_name`` (the contact's, else the invoice customer's),
    ``invoice_number``, ``amount`` (formatted), ``currency``, ``due_date`` (ISO),
    ``days_overdue`` (0 until the due date passes) and, only when there is one, ``payment_link``:
    ``payment_url`` when given (e.g. a tracked link to the invoice's page), else the invoice's."""
    variables = {
        "customer_name": customer_name or invoice.customer_name,
        "invoice_number": invoice.number,
        "amount": format_amount(invoice, locale),
        "currency": invoice.currency,
        "due_date": invoice.due_date.isoformat(),
        "days_overdue": str(max((today - invoice.due_date).days, 0)),
    }
    link = payment_url or invoice.payment_url
    if link:
        variables["payment_link"] = link
    return variables


def merged(defaults: Mapping[str, str], given: Mapping[str, object] | None) -> dict[str, object]:
    """``given`` (a client's ``variables``) over ``defaults``, key by key."""
    return {**defaults, **(given or {})}
