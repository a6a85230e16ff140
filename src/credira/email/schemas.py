from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from credira.api.responses import Instant, ReadModel, documented
from credira.config import VARIABLE_CEILING, VARIABLES_CEILING
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import ContactName, ShortText

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Email = Annotated[validation.Email, documented("Email")]
UTCTime = Annotated[validation.UTCTime, documented("Time")]

EmailType = Literal["payment_reminder", "follow_up", "welcome", "notification", "marketing"]
Priority = Literal["low", "medium", "high", "urgent"]
# Bounded by CREDIRA_TEMPLATE_VARIABLE_MAX_CHARS and CREDIRA_TEMPLATE_MAX_VARIABLES when
# rendered (``email_template.render.Limits``); these are the most any configuration accepts.
VariableValue = Annotated[StrictStr, Field(max_length=VARIABLE_CEILING)] | int | float
EmailStatus = Literal[
    "scheduled", "sending", "sent", "delivered", "bounced", "failed", "cancelled", "unconfirmed"
]


class SendEmailCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    template_id: StrictStr = Field(description="The email template to render")
    recipient_email: Email = Field(description="The email address of the recipient")
    recipient_name: ContactName | None = None
    callout_id: StrictStr | None = Field(
        default=None,
        description="The callout this email belongs to; its invoice fills template variables",
    )
    variables: Annotated[dict[str, VariableValue], Field(max_length=VARIABLES_CEILING)] = Field(
        default_factory=dict, description="Template variables; they override those from data"
    )
    scheduled_time: UTCTime | None = Field(
        default=None, description="When to send; defaults to immediately. Must carry a zone."
    )
    priority: Priority = "medium"
    email_type: EmailType = "payment_reminder"
    metadata: Metadata = Field(default_factory=dict)

    def variable_strings(self) -> dict[str, Any]:
        return dict(self.variables)


class EmailReconcile(RequestBody):
    """What became of an ``unconfirmed`` email, as found out of band (the mail server's log,
    the recipient)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["delivered", "not_delivered"] = Field(
        description=(
            "``delivered``: the mail server took it; it is recorded as delivered. "
            "``not_delivered``: it never left; it is sent again under the contact rules."
        )
    )
    note: ShortText | None = Field(default=None, description="Kept as the email's status reason")


# --- Replies ---


class EmailRead(ReadModel):
    """An email as ``GET /emails`` lists it."""

    id: str
    callout_id: str | None
    subject: str
    recipient_email: str
    recipient_name: str | None
    status: EmailStatus
    template_id: str | None
    template_name: str | None
    sent_time: Instant | None
    opened_time: Instant | None
    clicked_time: Instant | None
    bounced: bool
    unsubscribed: bool
    account_id: str
    created_time: Instant
    email_type: str
    priority: Priority
    metadata: dict[str, Any]


class EmailDetailRead(EmailRead):
    """An email with its delivery details (``GET /emails/{id}``, each email event's ``data``)."""

    invoice_id: str | None
    scheduled_time: Instant
    delivered_time: Instant | None
    updated_time: Instant
    status_reason: str | None
    smtp_reply: str | None
    message_id: str
    tracking_id: str
    attempts: int


class EmailScheduled(ReadModel):
    """The reply of ``POST /send-email``."""

    id: str
    template_id: str | None
    callout_id: str | None
    recipient_email: str
    recipient_name: str | None
    subject: str
    status: EmailStatus
    scheduled_time: Instant
    account_id: str
    created_time: Instant
    email_type: str
    priority: Priority
    estimated_delivery: Instant
    tracking_id: str
    metadata: dict[str, Any]
