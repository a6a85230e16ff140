from __future__ import annotations

from typing import Annotated

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from credira.kit.validation import WHOLE


def _check_locale(value: str) -> str:
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise ValueError("must be a locale such as en_US, de_DE or fr_FR") from None
    return value


class AccountSettingsUpdate(BaseModel):
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
    locale: Annotated[StrictStr, AfterValidator(_check_locale)] | None = Field(
        default=None, description="How amounts and dates are written in emails"
    )
    daily_call_cap: Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE] | None = Field(
        default=None, description="Calls placed per UTC day, account-wide"
    )
    daily_email_cap: Annotated[StrictInt, Field(ge=0, le=10_000_000), WHOLE] | None = Field(
        default=None, description="Emails sent per UTC day, account-wide"
    )
