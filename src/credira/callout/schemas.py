from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from credira.kit.validation import Email, Metadata, Phone, ShortText, UTCTime

Priority = Literal["low", "medium", "high", "urgent"]
CalloutType = Literal["payment_reminder", "follow_up", "verification"]
CalloutStatus = Literal["scheduled", "active", "completed", "failed", "cancelled"]

READ_ONLY = ("id", "status", "type", "account_id", "invoice_id", "created_time", "updated_time")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None


class ActionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calls_enabled: StrictBool | None = None
    emails_enabled: StrictBool | None = None
    voice_agent_id: StrictStr | None = None


class CalloutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


class CalloutUpdate(BaseModel):
    """Every field optional. ``actions`` and ``target_contact`` merge field by field;
    ``metadata`` keys merge and a key set to null is removed."""

    model_config = ConfigDict(extra="forbid")

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
