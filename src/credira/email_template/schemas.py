from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from credira.api.responses import Instant, ReadModel, documented
from credira.config import TEMPLATE_CEILING, Settings
from credira.email_template import render
from credira.kit import validation
from credira.kit.body import RequestBody
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
# The most any configuration accepts; the server holds a part to CREDIRA_TEMPLATE_MAX_CHARS
# (``render.Limits``), and the OpenAPI document says that value (``document_limits``).
CONTENT_MAX = TEMPLATE_CEILING


def _single_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("the subject must be a single line")
    return value


def template_pattern(max_tags: int, *, one_line: bool = False) -> str:
    """The template syntax the document states, as an ECMA 262 (and Python) pattern: text, and
    up to ``max_tags`` ``{{ name }}`` placeholders with the filters that take no argument
    (``{{ name | upper }}``). It is a part of what ``render`` takes, which also takes
    ``{% if %}`` blocks, ``{# comments #}`` and filter arguments that no pattern can balance:
    a template the document allows is never refused for its syntax. No NUL (the edge refuses
    it) and, in a subject (``one_line``), no CR or LF (``_single_line``)."""
    excluded = "\\u0000\\r\\n" if one_line else "\\u0000"
    blank = "[ \\t]" if one_line else "[ \\t\\n\\r]"
    # A brace is text unless it opens a tag ({{, {%, {#).
    text = f"(?:[^{{{excluded}]|\\{{[^{{%#{excluded}])"
    # A variable name as ``render`` allows it: not one Jinja reserves, nor ``not``.
    reserved = "|".join(sorted({*render._RESERVED, "not"}))
    name = f"(?!(?:{reserved})(?:{blank}|\\||\\}})){render._NAME.pattern}"
    filters = "|".join(sorted(f for f, (least, _) in render.FILTERS.items() if least == 0))
    # Each filter nests its variable a level deeper, under the template and its output.
    chain = f"(?:{blank}*\\|{blank}*(?:{filters})){{0,{render.MAX_DEPTH - 2}}}"
    placeholder = f"\\{{\\{{{blank}*{name}{chain}{blank}*\\}}\\}}"
    return f"^{text}*(?:{placeholder}{text}*){{0,{max_tags}}}\\{{?$"


_DEFAULT_TAGS = render.DEFAULT_LIMITS.template_tags
Subject = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=998,
        json_schema_extra={"pattern": template_pattern(_DEFAULT_TAGS, one_line=True)},
    ),
    AfterValidator(_single_line),
]
Content = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=CONTENT_MAX,
        json_schema_extra={"pattern": template_pattern(_DEFAULT_TAGS)},
    ),
]


def _refuse_read_only(data: Any) -> Any:
    if isinstance(data, dict):
        for name in READ_ONLY:
            if name in data:
                raise PydanticCustomError(
                    "read_only", "Field {field} is set by the server", {"field": name}
                )
    return data


class EmailTemplateCreate(RequestBody):
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


class EmailTemplateUpdate(RequestBody):
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


def document_limits(schemas: dict[str, Any], settings: Settings) -> None:
    """State the configured template limits in the OpenAPI ``components.schemas``: a template
    part's length and a ``send-email`` request's variables (count and string length), so that
    the document says what the server accepts rather than the ceilings the models allow."""

    def branches(node: Any, kind: str) -> Iterator[dict[str, Any]]:
        """``node`` and its ``anyOf`` alternatives (a nullable field's), those of type ``kind``."""
        if isinstance(node, dict):
            if node.get("type") == kind:
                yield node
            for branch in node.get("anyOf", ()):
                yield from branches(branch, kind)

    for model in ("EmailTemplateCreate", "EmailTemplateUpdate"):
        properties = schemas.get(model, {}).get("properties", {})
        for field in ("html_content", "text_content"):
            for node in branches(properties.get(field), "string"):
                node["maxLength"] = settings.template_max_chars
        for field in ("subject", "html_content", "text_content"):
            pattern = template_pattern(settings.template_max_tags, one_line=field == "subject")
            for node in branches(properties.get(field), "string"):
                node["pattern"] = pattern
    variables = schemas.get("SendEmailCreate", {}).get("properties", {}).get("variables")
    for node in branches(variables, "object"):
        node["maxProperties"] = settings.template_max_variables
        for value in branches(node.get("additionalProperties"), "string"):
            value["maxLength"] = settings.template_variable_max_chars


# --- Replies ---


class EmailTemplateRead(ReadModel):
    id: str
    account_id: str
    name: str
    subject: str
    category: TemplateCategory
    status: TemplateStatus
    html_content: str
    text_content: str
    variables: list[str]
    created_time: Instant
    updated_time: Instant
    created_by: str | None
    usage_count: int
    last_used: Instant | None
    metadata: dict[str, Any]
