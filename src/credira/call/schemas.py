from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from credira.api.responses import Instant, ReadModel, documented
from credira.channel.voice.port import CallStatus
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import ContactName

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Phone = Annotated[validation.Phone, documented("Phone")]
UTCTime = Annotated[validation.UTCTime, documented("Time")]

CallPurpose = Literal["payment_reminder", "follow_up", "verification"]


class CallCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    phone_number: Phone = Field(description="The phone number to call (E.164, e.g. +1234567890)")
    invoice_id: StrictStr = Field(description="The invoice this call is about")
    voice_agent_id: StrictStr = Field(description="The voice agent that handles the call")
    call_purpose: CallPurpose = "payment_reminder"
    scheduled_time: UTCTime | None = Field(
        default=None, description="When to call; defaults to immediately. Must carry a zone."
    )
    customer_name: ContactName | None = None
    metadata: Metadata = Field(default_factory=dict)


# --- Replies ---


class CallRead(ReadModel):
    """A call as ``GET /calls`` lists it."""

    id: str
    invoice_id: str
    duration: int | None
    status: CallStatus
    from_: str | None = Field(alias="from")
    to: str
    transcription_url: str | None
    call_recording_url: str | None
    confidence_score: float | None
    voice_agent_id: str | None
    timezone: str | None
    account_id: str
    created_time: Instant


class CallDetailRead(CallRead):
    """A call with its detail fields (``GET /calls/{id}``, each call event's ``data``)."""

    updated_time: Instant
    start_time: Instant | None
    end_time: Instant | None
    call_type: str
    cost: float | None
    currency: str | None
    quality_score: float | None
    sentiment_score: float | None
    keywords: list[str]
    summary: str | None
    tags: list[str]
    metadata: dict[str, Any]
    outcome: str | None
    analysis_source: Literal["llm", "rules"] | None = Field(
        description="Which analysis read the outcome of the answered call: an LLM's structured "
        "answer (`llm`, with CREDIRA_LLM_URL set) or the built-in rules (`rules`: no LLM set, "
        "or its answer failed). Null for a call not analysed (unanswered, or not ended yet)."
    )
    callout_id: str


class CallCreated(ReadModel):
    """The reply of ``POST /calls``."""

    id: str
    invoice_id: str
    phone_number: str
    voice_agent_id: str | None
    status: CallStatus
    call_purpose: str
    customer_name: str | None
    scheduled_time: Instant
    account_id: str
    created_time: Instant
    estimated_duration: int
    call_priority: str
    metadata: dict[str, Any]
