from __future__ import annotations

from typing import Annotated, Any, Literal

from babel.numbers import get_currency_precision, list_currencies
from pydantic import ConfigDict, Field, StrictStr

from credira.api.responses import Instant, ReadModel, amount_schema, documented
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import PersonName

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Amount = Annotated[validation.Amount, documented("Amount")]
Currency = Annotated[validation.Currency, documented("Currency")]
Email = Annotated[validation.Email, documented("Email")]
Phone = Annotated[validation.Phone, documented("Phone")]
TimeZoneName = Annotated[validation.TimeZoneName, documented("TimeZoneName")]

InvoiceStatus = Literal["open", "paid", "void", "disputed"]
SETTLED = ("paid", "void", "disputed")


IsoDate = Annotated[validation.IsoDate, documented("Date")]
# What no link holds: controls, spaces, line and format separators. Spelled out rather than
# written ``\s``, which holds U+0085 for the server's regular expressions and U+FEFF for an
# ECMA 262 validator reading the document: both read this class alike.
_NOT_IN_URL = (
    "\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200b\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
# An absolute http(s) URL with a host: the link of an email's payment button.
Url = Annotated[
    StrictStr,
    Field(max_length=2000, pattern=f"^https?://[^{_NOT_IN_URL}/?#]+([/?#][^{_NOT_IN_URL}]*)?$"),
]


def _precision_rules(schema: dict[str, Any]) -> None:
    """Document that an amount has at most as many decimals as its currency (JPY none, USD
    two, BHD three), which the service checks when both are known."""
    by_places: dict[int, list[str]] = {}
    for code in sorted(list_currencies()):
        by_places.setdefault(int(get_currency_precision(code)), []).append(code)
    schema["allOf"] = [
        {
            "if": {"properties": {"currency": {"enum": codes}}, "required": ["currency"]},
            "then": {
                "properties": {"amount": {"anyOf": [amount_schema(places), {"type": "null"}]}}
            },
        }
        for places, codes in sorted(by_places.items())
        if places < 4
    ]


class CustomerIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class CustomerUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: PersonName | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class InvoiceCreate(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_precision_rules)

    number: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency
    due_date: IsoDate
    customer: CustomerIn
    status: InvoiceStatus = "open"
    payment_url: Url | None = None
    metadata: Metadata = Field(default_factory=dict)
    plan_id: StrictStr | None = Field(
        default=None,
        description="The collection plan to follow (default: the account's default plan)",
    )


class InvoiceUpdate(RequestBody):
    """Every field optional; ``customer`` merges field by field, ``metadata`` keys merge."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_precision_rules)

    number: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    due_date: IsoDate | None = None
    customer: CustomerUpdate | None = None
    status: InvoiceStatus | None = None
    status_reason: Annotated[StrictStr, Field(max_length=500)] | None = None
    payment_url: Url | None = None
    metadata: Metadata | None = None
    plan_id: StrictStr | None = Field(
        default=None, description="Attach this collection plan; null detaches the current one"
    )


# --- Replies ---


class InvoiceCustomerRead(ReadModel):
    name: str
    email: str | None
    phone: str | None
    timezone: str | None


class InvoicePlanRead(ReadModel):
    """The invoice's place in its collection plan."""

    status: Literal["active", "paused", "stopped", "completed"]
    current_step: int = Field(description="Position of the next step to run, from 0")
    next_step_time: Instant | None
    paused_until: Instant | None
    reason: str | None = Field(description="Why it is paused or stopped")


class InvoiceRead(ReadModel):
    """An invoice as every reply (and each invoice event's ``data``) shows it."""

    id: str
    account_id: str
    number: str
    amount: str = Field(description="A decimal string, to the currency's precision")
    currency: str
    due_date: str = Field(json_schema_extra={"format": "date"})
    status: InvoiceStatus
    status_reason: str | None
    customer: InvoiceCustomerRead
    payment_url: str | None
    promised_date: str | None = Field(json_schema_extra={"format": "date"})
    metadata: dict[str, Any]
    plan_id: str | None
    plan: InvoicePlanRead | None
    created_time: Instant
    updated_time: Instant
