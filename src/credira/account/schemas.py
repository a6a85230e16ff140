from __future__ import annotations

from functools import cache
from typing import Annotated

from babel.localedata import locale_identifiers
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from credira.api.responses import Instant, ReadModel, documented
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import WHOLE


@cache
def _locales() -> frozenset[str]:
    return frozenset(locale_identifiers())


def _check_locale(value: str) -> str:
    """One of Babel's locale identifiers, as written there (the document lists them): Babel
    would also parse ``en_us``, ``und`` or ``de_DE.UTF-8``, which no schema could state."""
    if value not in _locales():
        raise ValueError("must be a locale such as en_US, de_DE or fr_FR")
    return value


Locale = Annotated[StrictStr, AfterValidator(_check_locale), documented("Locale")]
Phone = Annotated[validation.Phone, documented("Phone")]


Money = Annotated[StrictStr, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", examples=["20.00"])]


class SettlementUpdate(RequestBody):
    """What the voice agent may agree to on a call; a field left out takes its default."""

    model_config = ConfigDict(extra="forbid")

    max_promise_days: Annotated[StrictInt, Field(ge=0, le=365), WHOLE] = Field(
        default=30, description="A promise names a day at most this many days ahead"
    )
    min_promise_percent: Annotated[StrictInt, Field(ge=1, le=100), WHOLE] = Field(
        default=100, description="A promise covers at least this share of the balance"
    )
    allow_plans: StrictBool = Field(default=True, description="Payment plans may be agreed")
    max_instalments: Annotated[StrictInt, Field(ge=1, le=60), WHOLE] = Field(
        default=6, description="Payments in a plan, at most"
    )
    min_instalment: Money = Field(
        default="20", description="Each payment of a plan at least this, in the invoice's currency"
    )
    max_plan_days: Annotated[StrictInt, Field(ge=1, le=92), WHOLE] = Field(
        default=31, description="Days between two payments of a plan, at most"
    )


class AccountSettingsUpdate(RequestBody):
    """Every field optional; what is given replaces the current value."""

    model_config = ConfigDict(extra="forbid")

    max_call_attempts: Annotated[StrictInt, Field(ge=1, le=10), WHOLE] | None = Field(
        default=None, description="Call attempts per callout when calls go unanswered"
    )
    retry_minutes: (
        Annotated[
            list[Annotated[StrictInt, Field(ge=0, le=10_080), WHOLE]],
            Field(min_length=1, max_length=10),
        ]
        | None
    ) = Field(default=None, description="Minutes before each retry; the last value repeats")
    observe_holidays: StrictBool | None = Field(
        default=None, description="No calls on the debtor country's public holidays"
    )
    weekly_contacts: Annotated[StrictInt, Field(ge=1, le=100), WHOLE] | None = Field(
        default=None, description="Emails and calls per invoice in any 7 days before emails wait"
    )
    locale: Locale | None = Field(
        default=None, description="How amounts and dates are written in emails"
    )
    daily_call_cap: Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE] | None = Field(
        default=None, description="Calls placed per UTC day, account-wide"
    )
    daily_email_cap: Annotated[StrictInt, Field(ge=0, le=10_000_000), WHOLE] | None = Field(
        default=None, description="Emails sent per UTC day, account-wide"
    )
    third_party_collector: StrictBool | None = Field(
        default=None,
        description="The account collects others' debts: the voice agent says the "
        "debt-collector disclosure before any detail of the debt",
    )
    callback_number: Phone | None = Field(
        default=None, description="The number a third party is asked to have the debtor call"
    )
    settlement: SettlementUpdate | None = Field(
        default=None,
        description="What the voice agent may agree to (replaced whole; a field left out "
        "takes its default)",
    )


# --- Replies ---


class SettlementRead(ReadModel):
    max_promise_days: int
    min_promise_percent: int
    allow_plans: bool
    max_instalments: int
    min_instalment: str
    max_plan_days: int


class OutreachSettingsRead(ReadModel):
    """Every outreach setting, defaults included."""

    max_call_attempts: int
    retry_minutes: list[int]
    observe_holidays: bool
    weekly_contacts: int
    locale: str
    daily_call_cap: int
    daily_email_cap: int
    third_party_collector: bool
    callback_number: str | None
    settlement: SettlementRead


class AccountRead(ReadModel):
    id: str
    name: str
    created_time: Instant
    settings: OutreachSettingsRead
