from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)

from credira.api.responses import Instant, ReadModel, documented
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import Name

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Phone = Annotated[validation.Phone, documented("Phone")]

# The providers a voice agent may name: the simulator and the real providers with an adapter
# (their credentials are the account's: PUT /v1/account/providers/{provider}).
PROVIDERS = ("simulator", "twilio", "telnyx", "vapi", "retell")
# Named in the API (provider settings) but without an adapter yet.
PLANNED_PROVIDERS: tuple[str, ...] = ()
MODES = ("script", "conversation")


def check_provider(value: str) -> str:
    if value in PLANNED_PROVIDERS:
        raise ValueError(f"{value} calls are not available yet; use one of: {', '.join(PROVIDERS)}")
    if value not in PROVIDERS:
        raise ValueError(f"must be one of: {', '.join(PROVIDERS)}")
    return value


def check_mode(value: str) -> str:
    if value not in MODES:
        raise ValueError(f"must be one of: {', '.join(MODES)}")
    return value


Provider = Annotated[
    StrictStr, Field(json_schema_extra={"enum": list(PROVIDERS)}), AfterValidator(check_provider)
]
Mode = Annotated[
    StrictStr,
    Field(
        json_schema_extra={"enum": list(MODES)},
        description="script: the provider plays the rendered script, then a keypad menu "
        "(1 promise to pay, 2 dispute, 3 call me back, 9 stop calling); conversation: "
        "Credira's own agent holds the conversation (simulator, Twilio, Telnyx), the rendered "
        "script its brief, with CREDIRA_LLM_URL's model or its deterministic dialogue policy",
    ),
    AfterValidator(check_mode),
]
AgentStatus = Literal["active", "inactive"]

# What a script may refer to; the worker renders it with the invoice and the contact.
SCRIPT_VARIABLES = frozenset(
    {
        "customer_name",
        "invoice_number",
        "amount",
        "currency",
        "due_date",
        "days_overdue",
        "company_name",
        "agent_name",
        "payment_link",
    }
)
# The blanks allowed around a placeholder's name, spelled out: ``\s`` holds other characters
# for Python (U+0085, U+001C) than for an ECMA 262 validator reading the document (U+FEFF).
_BLANK = r"[ \t\n\r\f\v]"
_PLACEHOLDER = re.compile(r"\{\{" + _BLANK + r"*([^}]*?)" + _BLANK + r"*\}\}")

DEFAULT_SCRIPT = (
    "Hello {{customer_name}}, this is {{agent_name}} calling on behalf of {{company_name}} "
    "about invoice {{invoice_number}} for {{amount}}, which was due on {{due_date}}. "
    "Could we talk about when you can pay it?"
)


def check_script(value: str) -> str:
    for name in _PLACEHOLDER.findall(value):
        if name not in SCRIPT_VARIABLES:
            raise ValueError(
                f"unknown placeholder {{{{{name}}}}}; known: {', '.join(sorted(SCRIPT_VARIABLES))}"
            )
    return value


def check_language(value: str) -> str:
    if not re.fullmatch(_LANGUAGE, value):
        raise ValueError("must be a language tag such as en or en-US")
    return value


_LANGUAGE = r"[a-z]{2,3}(-[A-Z]{2})?"
# A script must not hold a placeholder outside SCRIPT_VARIABLES: the document says so with
# the pattern of a placeholder whose name is not one of them (what check_script finds).
_UNKNOWN_PLACEHOLDER = (
    r"\{\{(?!" + _BLANK + "*(?:" + "|".join(sorted(SCRIPT_VARIABLES)) + ")" + _BLANK + r"*\}\})"
    r"[^}]*\}\}"
)
Script = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=20000,
        json_schema_extra={"not": {"pattern": _UNKNOWN_PLACEHOLDER}},
        description="What the agent says; {{placeholders}}: " + ", ".join(sorted(SCRIPT_VARIABLES)),
    ),
    AfterValidator(check_script),
]
Language = Annotated[
    StrictStr,
    Field(json_schema_extra={"pattern": f"^{_LANGUAGE}$"}, examples=["en-US"]),
    AfterValidator(check_language),
]


Duration = Annotated[StrictInt, Field(ge=30, le=3600), validation.WHOLE]
Voice = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class VoiceAgentCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: Name
    provider: Provider = "simulator"
    mode: Mode = "script"
    voice: Voice = "default"
    language: Language = "en-US"
    from_number: Phone | None = None
    script: Script = DEFAULT_SCRIPT
    max_duration: Duration = 600
    status: AgentStatus = "active"
    metadata: Metadata = Field(default_factory=dict)


class VoiceAgentUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    provider: Provider | None = None
    mode: Mode | None = None
    voice: Voice | None = None
    language: Language | None = None
    from_number: Phone | None = None
    script: Script | None = None
    max_duration: Duration | None = None
    status: AgentStatus | None = None
    metadata: Metadata | None = None


# --- Replies ---


class VoiceAgentRead(ReadModel):
    id: str
    account_id: str
    name: str
    provider: str
    mode: str
    voice: str
    language: str
    from_number: str | None
    script: str
    max_duration: int
    status: AgentStatus
    metadata: dict[str, Any]
    created_time: Instant
    updated_time: Instant
