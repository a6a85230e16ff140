from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

from credira.kit.validation import Amount, Currency, Email, Metadata, Name, Phone, TimeZoneName

InvoiceStatus = Literal["open", "paid", "void", "disputed"]
SETTLED = ("paid", "void", "disputed")


def _iso_date(value: object) -> object:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("must be a date in the form YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Url = Annotated[StrictStr, Field(max_length=2000, pattern=r"^https?://[^\s]+$")]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class CustomerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class InvoiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency
    due_date: IsoDate
    customer: CustomerIn
    status: InvoiceStatus = "open"
    payment_url: Url | None = None
    metadata: Metadata = Field(default_factory=dict)


class InvoiceUpdate(BaseModel):
    """Every field optional; ``customer`` merges field by field, ``metadata`` keys merge."""

    model_config = ConfigDict(extra="forbid")

    number: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    due_date: IsoDate | None = None
    customer: CustomerUpdate | None = None
    status: InvoiceStatus | None = None
    status_reason: Annotated[StrictStr, Field(max_length=500)] | None = None
    payment_url: Url | None = None
    metadata: Metadata | None = None
