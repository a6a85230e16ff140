"""Webhook request bodies and replies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from credira.api.responses import Instant, ReadModel, absent
from credira.event.types import TYPE_FILTER_PATTERN, matcher
from credira.kit.body import RequestBody

# What no URL holds: controls, spaces, line and format separators (as invoice links).
_NOT_IN_URL = (
    "\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200b\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
WebhookUrl = Annotated[
    StrictStr,
    Field(
        max_length=2000,
        # The authority in ASCII (RFC 3986's characters; an international name in its
        # punycode form), the rest as invoice links take it.
        pattern=f"^https?://[A-Za-z0-9._~%!$&'()*+,;=:@\\[\\]-]+([/?#][^{_NOT_IN_URL}]*)?$",
        description=(
            "Where events are POSTed: an absolute http or https URL (public address; a name "
            "outside ASCII in its punycode form)"
        ),
    ),
]


def _check_types(value: list[str]) -> list[str]:
    try:
        matcher(value)
    except ValueError as exc:
        raise ValueError(f"unknown event type {str(exc)!r}; see the README for the list") from None
    return list(dict.fromkeys(value))


# One type or wildcard (``call.*``, ``*``), as the event log's filter takes them.
EventTypePattern = Annotated[
    StrictStr, Field(max_length=40, pattern=TYPE_FILTER_PATTERN.split("(?:,")[0] + "$")
]
EventTypes = Annotated[
    list[EventTypePattern],
    Field(min_length=1, max_length=100, description="Event types, wildcards such as `call.*`"),
    AfterValidator(_check_types),
]
Description = Annotated[StrictStr, Field(max_length=500)]
GraceSeconds = Annotated[StrictInt, Field(ge=0, le=7 * 86400)]


class WebhookCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl
    event_types: EventTypes
    description: Description | None = None
    enabled: StrictBool = True


class WebhookUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class SecretRotation(RequestBody):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: GraceSeconds = Field(
        default=86400,
        description="How long the previous secret signs too (both signatures are sent)",
    )


# --- Replies ---


class WebhookRead(ReadModel):
    id: str
    account_id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    created_time: Instant
    updated_time: Instant
    disabled_reason: str = absent()
    previous_secret_expires: Instant = absent()


class WebhookSecretRead(WebhookRead):
    """With the signing secret (``whsec_`` + base64), shown in this reply only."""

    secret: str | None


class AttemptRead(ReadModel):
    time: Instant
    status_code: int | None
    latency_ms: int
    response: str
    error: str | None


class DeliveryRead(ReadModel):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    object_id: str
    status: str
    attempt_count: int
    attempts: list[AttemptRead]
    created_time: Instant
    updated_time: Instant
    next_attempt_time: Instant = absent()


class TestSentRead(ReadModel):
    delivery_id: str
    event_id: str
