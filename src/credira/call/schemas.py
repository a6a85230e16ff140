from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictStr

from credira.api.responses import documented
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
