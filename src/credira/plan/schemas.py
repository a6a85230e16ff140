from __future__ import annotations

from typing import Annotated, Any, Literal

import holidays
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from credira.api.responses import Instant, ReadModel, absent, documented
from credira.kit import validation
from credira.kit.body import RequestBody

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Amount = Annotated[validation.Amount, documented("Amount")]
Phone = Annotated[validation.Phone, documented("Phone")]
Email = Annotated[validation.Email, documented("Email")]
TimeZoneName = Annotated[validation.TimeZoneName, documented("TimeZoneName")]
IsoDate = Annotated[validation.IsoDate, documented("Date")]
UTCTime = Annotated[validation.UTCTime, documented("Time")]

Priority = Literal["low", "medium", "high", "urgent"]
CalloutType = Literal["payment_reminder", "follow_up", "verification"]
Channel = Literal["call", "email"]
Anchor = Literal["due_date", "previous_step"]
RunStatus = Literal["active", "paused", "stopped", "completed"]

MAX_STEPS = 20
MAX_OFFSET_DAYS = 365
MAX_GAP_HOURS = 720
# A local wall-clock time, 24-hour: "09:30".
LocalTime = Annotated[
    StrictStr,
    Field(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["10:00"]),
]
OffsetDays = Annotated[StrictInt, Field(ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS), validation.WHOLE]
PlanName = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Description = Annotated[StrictStr, Field(max_length=1000)]
Channels = Annotated[
    list[Channel], Field(min_length=1, max_length=2, json_schema_extra={"uniqueItems": True})
]
GapHours = Annotated[StrictInt, Field(ge=0, le=MAX_GAP_HOURS), validation.WHOLE]


def _check_country(value: str) -> str:
    if value not in _COUNTRIES:
        raise ValueError("Country must be an ISO 3166 code with a public holiday calendar, e.g. US")
    return value


_COUNTRIES = frozenset(c for c in holidays.list_supported_countries() if len(c) == 2)
# The countries whose public holidays are known (``holidays``), upper case.
Country = Annotated[
    StrictStr,
    Field(json_schema_extra={"enum": sorted(_COUNTRIES)}, examples=["US"]),
    AfterValidator(_check_country),
]


def _call_needs_agent(schema: dict[str, Any]) -> None:
    """A step that calls names its voice agent."""
    schema["if"] = {
        "required": ["channels"],
        "properties": {"channels": {"type": "array", "contains": {"const": "call"}}},
    }
    schema["then"] = {
        "required": ["voice_agent_id"],
        "properties": {"voice_agent_id": {"type": "string"}},
    }


class StepIn(RequestBody):
    """One contact of the cadence."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_call_needs_agent)

    offset_days: OffsetDays = Field(
        description="Days after the anchor (negative: before the due date)"
    )
    anchor: Anchor = "due_date"
    time: LocalTime = Field(default="10:00", description="Local time of day in the debtor's zone")
    window_end: LocalTime | None = Field(
        default=None,
        description="End of the step's local window (after ``time``): a step pushed by the "
        "plan's minimum gap past it moves to the next day at ``time``",
    )
    channels: Channels
    voice_agent_id: StrictStr | None = None
    template_id: StrictStr | None = None
    priority: Priority = "medium"
    type: CalloutType = "payment_reminder"
    min_amount_due: Amount | None = Field(
        default=None, description="Skip the step when the invoice's amount is below this"
    )
    only_if_previous_unreached: StrictBool = Field(
        default=False, description="Run only if the previous step did not reach the debtor"
    )
    metadata: Metadata = Field(default_factory=dict)


Steps = Annotated[list[StepIn], Field(min_length=1, max_length=MAX_STEPS)]


class CollectionPlanCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: PlanName
    description: Description | None = None
    steps: Steps
    min_gap_hours: GapHours = 0
    skip_weekends: StrictBool = False
    skip_holidays: StrictBool = False
    is_default: StrictBool = False
    metadata: Metadata = Field(default_factory=dict)


class CollectionPlanUpdate(RequestBody):
    """Every field optional; ``steps`` replaces the whole list (what has run stays run: an
    invoice goes on at its next position in the new list); ``metadata`` keys merge."""

    model_config = ConfigDict(extra="forbid")

    name: PlanName | None = None
    description: Description | None = None
    steps: Steps | None = None
    min_gap_hours: GapHours | None = None
    skip_weekends: StrictBool | None = None
    skip_holidays: StrictBool | None = None
    is_default: StrictBool | None = None
    metadata: Metadata | None = None


class PreviewIn(RequestBody):
    """A hypothetical invoice: nothing is stored."""

    model_config = ConfigDict(extra="forbid")

    due_date: IsoDate
    timezone: TimeZoneName | None = None
    phone: Phone | None = None
    email: Email | None = None
    country: Country | None = None
    amount: Amount | None = None
    now: UTCTime | None = Field(
        default=None, description="Show the schedule as of this instant (default: now)"
    )


class PauseIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    until: UTCTime | None = Field(
        default=None, description="Resume by itself then (default: when resumed by hand)"
    )
    reason: Annotated[StrictStr, Field(max_length=200)] | None = None


# --- Replies ---


class StepRead(ReadModel):
    offset_days: int
    anchor: Anchor
    time: str
    window_end: str | None
    channels: list[Channel]
    voice_agent_id: str | None
    template_id: str | None
    priority: Priority
    type: CalloutType
    min_amount_due: str | None
    only_if_previous_unreached: bool
    metadata: dict[str, Any]


class CollectionPlanRead(ReadModel):
    id: str
    account_id: str
    name: str
    description: str | None
    steps: list[StepRead]
    min_gap_hours: int
    skip_weekends: bool
    skip_holidays: bool
    is_default: bool
    metadata: dict[str, Any]
    created_time: Instant
    updated_time: Instant


class ScheduleEntryRead(ReadModel):
    """One future step: when, where, how, and what moved or blocks it."""

    step: int = Field(description="The step's position in the plan, from 0")
    time: Instant = Field(description="When the step runs (its callout's scheduled_time)")
    local_time: str = Field(description="The same instant in the debtor's zone, with offset")
    timezone: str
    channels: list[Channel]
    moved_by: list[str] = Field(description="weekend, public_holiday, min_gap, after_previous_step")
    blocked: str | None = Field(description="Why the step will not contact, if it will not")
    conditional: bool = Field(description="Runs only if the previous step did not reach")
    call_time: Instant | None = Field(description="When the calling rules let its call go out")
    call_rule: str | None = Field(description="The calling rule that moves the call, if any")
    dropped: list[str] = Field(description="Channels left out and why (opted_out, no_email...)")


class ScheduleRead(ReadModel):
    invoice_id: str | None
    plan_id: str
    status: RunStatus | None
    entries: list[ScheduleEntryRead]


class ImportJobRead(ReadModel):
    id: str
    account_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    plan_id: str | None
    total_rows: int
    processed_rows: int
    created_rows: int
    updated_rows: int
    unchanged_rows: int
    error: str | None
    created_time: Instant
    finished_time: Instant | None = absent()
