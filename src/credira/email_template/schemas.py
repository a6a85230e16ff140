from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from credira.api.responses import documented
from credira.kit import validation
from credira.kit.validation import Name

Metadata = Annotated[validation.Metadata, documented("Metadata")]

TemplateStatus = Literal["active", "inactive", "draft"]
TemplateCategory = Literal["payment_reminder", "follow_up", "welcome", "notification", "marketing"]

# Set by the server: ``variables`` is derived from the template text, the rest is bookkeeping.
READ_ONLY = (
    "id",
    "account_id",
    "variables",
    "usage_count",
    "last_used",
    "created_by",
    "created_time",
    "updated_time",
)
CONTENT_MAX = 200_000


def _single_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("the subject must be a single line")
    return value


Subject = Annotated[StrictStr, Field(min_length=1, max_length=998), AfterValidator(_single_line)]
Content = Annotated[StrictStr, Field(min_length=1, max_length=CONTENT_MAX)]


def _refuse_read_only(data: Any) -> Any:
    if isinstance(data, dict):
        for name in READ_ONLY:
            if name in data:
                raise PydanticCustomError(
                    "read_only", "Field {field} is set by the server", {"field": name}
                )
    return data


class EmailTemplateCreate(BaseModel):
    """A template: ``{{ variable }}`` placeholders in the subject, HTML and text parts."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    subject: Subject
    html_content: Content
    text_content: Content
    category: TemplateCategory
    status: TemplateStatus = "active"
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, data: Any) -> Any:
        return _refuse_read_only(data)


class EmailTemplateUpdate(BaseModel):
    """Every field optional; ``metadata`` keys merge and a key set to null is removed."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    subject: Subject | None = None
    html_content: Content | None = None
    text_content: Content | None = None
    category: TemplateCategory | None = None
    status: TemplateStatus | None = None
    metadata: Metadata | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, data: Any) -> Any:
        return _refuse_read_only(data)
