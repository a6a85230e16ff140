from __future__ import annotations

from functools import cache
from typing import Annotated

from babel.localedata import locale_identifiers
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from credira.api.responses import Instant, ReadModel, documented
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


# --- Replies ---


class OutreachSettingsRead(ReadModel):
    """Every outreach setting, defaults included."""

    max_call_attempts: int
    retry_minutes: list[int]
    observe_holidays: bool
    weekly_contacts: int
    locale: str
    daily_call_cap: int
    daily_email_cap: int


class AccountRead(ReadModel):
    id: str
    name: str
    created_time: Instant
    settings: OutreachSettingsRead
