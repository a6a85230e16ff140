from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from credira.api.responses import Deleted, Instant, ReadModel, absent, documented
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import ContactName

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Email = Annotated[validation.Email, documented("Email")]
Phone = Annotated[validation.Phone, documented("Phone")]
UTCTime = Annotated[validation.UTCTime, documented("Time")]

Priority = Literal["low", "medium", "high", "urgent"]
CalloutType = Literal["payment_reminder", "follow_up", "verification"]
CalloutStatus = Literal["scheduled", "active", "completed", "failed", "cancelled"]

READ_ONLY = ("id", "status", "type", "account_id", "invoice_id", "created_time", "updated_time")


# What a callout must be able to do (``policy.check_plan``), as far as the request alone
# decides it: a phone or an email missing on the invoice's customer, or a change that leaves a
# stored callout without its agent, is refused as well (VALIDATION_ERROR naming the field).
_BOTH_CHANNELS_OFF: dict[str, Any] = {
    "required": ["actions"],
    "properties": {
        "actions": {
            "type": "object",
            "required": ["calls_enabled", "emails_enabled"],
            "properties": {"calls_enabled": {"const": False}, "emails_enabled": {"const": False}},
        }
    },
}


def _create_rules(schema: dict[str, Any]) -> None:
    """At least one channel (calls are on unless ``calls_enabled`` is false, emails off unless
    ``emails_enabled`` is true), and a voice agent when calls are on."""
    schema["allOf"] = [
        {
            "not": {
                "required": ["actions"],
                "properties": {
                    "actions": {
                        "type": "object",
                        "required": ["calls_enabled"],
                        "properties": {
                            "calls_enabled": {"const": False},
                            "emails_enabled": {"enum": [False, None]},
                        },
                    }
                },
            }
        },
        {
            "required": ["actions"],
            "properties": {
                "actions": {
                    "type": "object",
                    "anyOf": [
                        {
                            "required": ["calls_enabled"],
                            "properties": {"calls_enabled": {"const": False}},
                        },
                        {
                            "required": ["voice_agent_id"],
                            "properties": {"voice_agent_id": {"type": "string"}},
                        },
                    ],
                }
            },
        },
    ]


def _update_rules(schema: dict[str, Any]) -> None:
    """Not both channels off in one request (the merged callout is checked like a new one)."""
    schema["not"] = _BOTH_CHANNELS_OFF


class ContactIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: ContactName | None = None
    email: Email | None = None
    phone: Phone | None = None


class ActionsIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    calls_enabled: StrictBool | None = None
    emails_enabled: StrictBool | None = None
    voice_agent_id: StrictStr | None = None


class CalloutCreate(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_create_rules)

    invoice_id: StrictStr
    scheduled_time: UTCTime | None = Field(
        default=None, description="When to run; defaults to now. Must carry a zone."
    )
    type: CalloutType = "payment_reminder"
    priority: Priority = "medium"
    target_contact: ContactIn | None = Field(
        default=None, description="Defaults to the invoice's customer, field by field."
    )
    actions: ActionsIn | None = Field(
        default=None, description="Defaults: calls enabled, emails disabled."
    )
    metadata: Metadata = Field(default_factory=dict)


class CalloutUpdate(RequestBody):
    """Every field optional. ``actions`` and ``target_contact`` merge field by field;
    ``metadata`` keys merge and a key set to null is removed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_update_rules)

    scheduled_time: UTCTime | None = None
    actions: ActionsIn | None = None
    priority: Priority | None = None
    target_contact: ContactIn | None = None
    metadata: Metadata | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in READ_ONLY:
                if name in data:
                    raise PydanticCustomError(
                        "read_only", "Field {field} cannot be updated", {"field": name}
                    )
        return data


# --- Replies ---


class CalloutContactRead(ReadModel):
    name: str | None
    email: str | None
    phone: str | None


class CalloutActionsRead(ReadModel):
    calls_enabled: bool
    emails_enabled: bool
    voice_agent_id: str | None


class CalloutRead(ReadModel):
    """A callout as every reply (and each callout event's ``data``) shows it."""

    id: str
    invoice_id: str
    status: CalloutStatus
    type: CalloutType
    scheduled_time: Instant
    created_time: Instant
    updated_time: Instant
    target_contact: CalloutContactRead
    actions: CalloutActionsRead
    account_id: str
    priority: Priority
    metadata: dict[str, Any]
    next_attempt_time: Instant = absent()
    hold_reason: str = absent()
    status_reason: str = absent()
    completed_time: Instant = absent()


class CalloutDeletedItems(ReadModel):
    callout: bool
    recordings: int
    transcriptions: int
    analytics: bool


class CalloutDeleted(Deleted):
    deleted_items: CalloutDeletedItems


class CallAttemptRead(ReadModel):
    attempt_id: str
    type: Literal["call"]
    status: str
    timestamp: Instant
    duration: int | None
    call_recording_url: str | None
    transcription_url: str | None
    confidence_score: float | None
    sentiment_score: float | None
    keywords: list[str]
    summary: str | None
    voice_agent_id: str | None
    call_id: str
    outcome: str | None


class EmailAttemptRead(ReadModel):
    attempt_id: str
    type: Literal["email"]
    status: str
    timestamp: Instant
    email_subject: str
    opened_time: Instant | None
    clicked_time: Instant | None
    template_id: str | None
    email_id: str


class CalloutAnalyticsRead(ReadModel):
    total_duration: int
    average_confidence: float | None
    sentiment_analysis: str | None
    key_topics: list[str]
    customer_engagement: Literal["high", "medium", "low", "none"]


class CalloutResponseRead(ReadModel):
    """The callout response report: every attempt, calls and emails mixed, in order."""

    callout_id: str
    status: CalloutStatus
    total_attempts: int
    successful_attempts: int
    responses: list[Annotated[CallAttemptRead | EmailAttemptRead, Field(discriminator="type")]]
    analytics: CalloutAnalyticsRead
    created_time: Instant
    completed_time: Instant | None
