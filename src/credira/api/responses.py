"""OpenAPI declarations: the envelope, so every reply (success and error) is documented per
route, and what the route signatures cannot say (id formats, input types whose rules are code)."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

import email_validator
import phonenumbers
from babel.localedata import locale_identifiers
from babel.numbers import list_currencies
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from credira.kit.ids import PREFIXES


class ErrorBody(BaseModel):
    code: str = Field(examples=["INVALID_REQUEST"])
    message: str = Field(examples=["Invalid request data"])
    details: str | None = Field(default=None, description="Why a value was refused")
    field: str | None = Field(default=None, description="The refused field, dotted")


class Meta(BaseModel):
    timestamp: str = Field(examples=["2024-01-15T10:30:00Z"])
    request_id: str = Field(examples=["req_123456789"])


class ErrorEnvelope(BaseModel):
    success: bool = Field(examples=[False])
    error: ErrorBody
    meta: Meta


# --- Success replies: declared for the document only ---
#
# Endpoints build their replies as dicts (``credira.api.respond``) and never validate them
# against these models at run time: the models say what comes back, and a test validates real
# replies against the document (tests/api/test_reply_schemas.py).


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # A key declared with ``absent()`` is left out of a reply, never written as null.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class ReadModel(BaseModel):
    """A reply object. Its keys are exactly the declared ones."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)


def absent() -> Any:
    """A key that appears only when it applies, never as null: not required, no default."""
    return Field(default=None)


# An instant as every reply writes it (``credira.kit.clock.format_time``).
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class ReplyMeta(ReadModel):
    timestamp: Instant = Field(examples=["2024-01-15T10:30:00Z"])
    request_id: str = Field(examples=["req_123456789"])
    message: str = absent()


class HealthRead(ReadModel):
    status: Literal["ok"]


class ReadyRead(ReadModel):
    status: Literal["ready"]
    database: Literal["ok"]


class Deleted(ReadModel):
    id: str
    deleted: Literal[True]
    deleted_time: Instant


def reply(
    data: Any, status: int = 200, *, name: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """Declare the success reply ``{success, data, meta}`` whose ``data`` is ``data``; ``name``
    names the envelope (default: ``data``'s name + ``Reply``)."""
    envelope = _envelope(data, name or f"{data.__name__}Reply", None)
    return {status: {"model": envelope, "description": "The envelope with the object"}}


def listing(item: type[BaseModel], plural: str) -> dict[int | str, dict[str, Any]]:
    """The reply of a list endpoint: ``data`` is a page of ``item``, ``meta`` carries
    ``total_<plural>`` and ``has_more``."""
    envelope = _envelope(list[item], f"{item.__name__}List", plural)  # type: ignore[valid-type]
    return {200: {"model": envelope, "description": "The envelope with a page of objects"}}


@cache
def _envelope(data: Any, name: str, plural: str | None) -> type[BaseModel]:
    """One model per envelope: the document names each once."""
    meta: type[BaseModel] = ReplyMeta
    if plural is not None:
        fields: dict[str, Any] = {f"total_{plural}": (int, ...), "has_more": (bool, ...)}
        meta = create_model(f"{name}Meta", __base__=ReplyMeta, **fields)
    return create_model(
        name,
        __base__=ReadModel,
        success=(Literal[True], ...),
        data=(data, ...),
        meta=(meta, ...),
    )


_DESCRIPTIONS = {
    400: "INVALID_REQUEST: malformed JSON, missing or unknown field, bad id format",
    401: "UNAUTHORIZED: missing, unknown or revoked API key",
    403: "FORBIDDEN: the key lacks the permission",
    404: "NOT_FOUND: no such object in the caller's account",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT: the object's state forbids the change, or an idempotency key was reused",
    412: "PRECONDITION_FAILED: If-Match does not match the current ETag",
    413: "PAYLOAD_TOO_LARGE: body over the configured limit",
    422: "VALIDATION_ERROR: a field has a bad value; details says which and why",
    429: "RATE_LIMITED: too many requests",
    500: "INTERNAL_ERROR: unexpected fault, logged with the request id",
    503: "SERVICE_UNAVAILABLE: the database is unreachable",
}


def errors_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Declare the envelope for each listed status plus the ones every route can return."""
    every = {400, 401, 422, 429, 500, 503} | set(statuses)
    return {
        status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]}
        for status in sorted(every)
    }


# --- What the document says about ids and parameters that the route signatures cannot say ---

# Request fields and parameters that carry an id, by name, and the kind of object they name.
# A value that is not a well-formed id of that kind is INVALID_REQUEST ("Invalid callout ID
# format"), so the document gives each one its pattern: a client (or a fuzzer) then knows that a
# well-formed id of no object is NOT_FOUND while a malformed one is refused before any lookup.
ID_FIELDS = {
    "user_id": "user",
    "invoice_id": "invoice",
    "agent_id": "agent",
    "voice_agent_id": "agent",
    "callout_id": "callout",
    "call_id": "call",
    "template_id": "template",
    "email_id": "email",
    "account_id": "account",
    "event_id": "event",
    "plan_id": "plan",
    "job_id": "import",
    "webhook_id": "webhook",
    "delivery_id": "delivery",
}
# The kind of id ``starting_after`` takes on each list.
LIST_KINDS = {
    "/v1/users": "user",
    "/v1/invoices": "invoice",
    "/v1/voice-agents": "agent",
    "/v1/callouts": "callout",
    "/v1/calls": "call",
    "/v1/email-templates": "template",
    "/v1/emails": "email",
    "/v1/events": "event",
    "/v1/collection-plans": "plan",
    "/v1/webhooks": "webhook",
    "/v1/webhooks/{webhook_id}/deliveries": "delivery",
}
# Query parameters the list endpoints need but declare optional, so that a missing one is
# INVALID_REQUEST "Missing required parameter: invoice_id" (API.md) rather than pydantic's 422.
REQUIRED_QUERY = {
    ("/v1/callouts", "get"): ("invoice_id",),
    ("/v1/calls", "get"): ("invoice_id",),
    ("/v1/emails", "get"): ("callout_id",),
    ("/v1/email-templates", "get"): ("account_id",),
}
# Media files are named after their call: ``{call_id}.txt``, ``{call_id}.wav|.mp3``.
MEDIA_NAMES = {
    "/transcriptions/{name}": r"\.txt",
    "/recordings/{name}": r"\.(?:wav|mp3)",
}
# The same token rule as ``credira.kit.ids.is_valid_id``.
_ID_CHARS = "[0-9A-Za-z]{1,64}"


def id_pattern(kind: str) -> str:
    return f"^{re.escape(PREFIXES[kind])}{_ID_CHARS}$"


def _string_branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``type: string`` parts of a schema (itself, or the branches of ``anyOf``)."""
    if schema.get("type") == "string":
        return [schema]
    return [s for s in schema.get("anyOf", []) if s.get("type") == "string"]


def _set_pattern(schema: dict[str, Any], pattern: str) -> None:
    for branch in _string_branches(schema):
        branch.setdefault("pattern", pattern)


def document_parameters(path: str, method: str, operation: dict[str, Any]) -> None:
    """Id patterns, media file names and the query parameters a route needs."""
    required = REQUIRED_QUERY.get((path, method), ())
    for parameter in operation.get("parameters", []):
        name, schema = parameter["name"], parameter.get("schema", {})
        if parameter.get("in") not in ("path", "query"):
            continue
        if name in ID_FIELDS:
            _set_pattern(schema, id_pattern(ID_FIELDS[name]))
        elif name == "starting_after" and path in LIST_KINDS:
            _set_pattern(schema, id_pattern(LIST_KINDS[path]))
        elif name == "name" and path in MEDIA_NAMES:
            _set_pattern(schema, id_pattern("call")[:-1] + MEDIA_NAMES[path] + "$")
        for branch in _string_branches(schema):
            if branch.get("format") == "date-time":
                # A time in a query is the same input type as in a body (``Time``).
                branch.update({k: v for k, v in INPUT_TYPES["Time"].items() if k != "examples"})
        if name in required:
            parameter["required"] = True
            branches = _string_branches(schema)
            if len(branches) == 1 and "anyOf" in schema:
                # Required, so never null: the schema is its string branch.
                merged = {k: v for k, v in schema.items() if k != "anyOf"}
                schema.clear()
                schema.update({**branches[0], **merged})


def document_id_fields(components: dict[str, Any]) -> None:
    """Id patterns on the request and reply fields that carry an id."""
    for model in components.values():
        for name, schema in model.get("properties", {}).items():
            if name in ID_FIELDS:
                _set_pattern(schema, id_pattern(ID_FIELDS[name]))


ERROR_REF = "#/components/schemas/ErrorEnvelope"


def document_success(operation: dict[str, Any]) -> None:
    """The declared envelope alone: FastAPI documents our response class as a string and
    merges the model declared with ``reply`` into that."""
    for status, response in operation.get("responses", {}).items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if status.startswith("2") and "$ref" in schema:
            for key in [k for k in schema if k != "$ref"]:
                del schema[key]


def document_error_media(operation: dict[str, Any]) -> None:
    """Errors are JSON on every route, also on those whose success is a file, a page or an
    image (FastAPI would document their errors with the success's media type)."""
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2") or status.startswith("3"):
            continue
        content = response.get("content", {})
        if any(media.get("schema", {}).get("$ref") == ERROR_REF for media in content.values()):
            response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}


MAX_SAFE_NUMBER = 2**53 - 1

# --- Input types whose rules are code (a library call), stated as JSON Schema ---
#
# Each schema accepts only values the code accepts, so that a client that follows the document
# is never refused; what the code accepts beyond it is a thin edge (a lowercase currency code,
# leading zeros in an amount), never a value a client would plausibly send. Request models point
# at these with ``documented(name)``, and ``_openapi`` adds them to ``components.schemas``.


def _phone_pattern() -> str:
    """E.164 (7 to 15 digits) behind a real country calling code, as ``normalize_phone``."""
    by_length: dict[int, list[str]] = {}
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        if phonenumbers.region_code_for_country_code(code) != "ZZ":
            by_length.setdefault(len(str(code)), []).append(str(code))
    branches = [
        f"(?:{'|'.join(codes)})[0-9]{{{7 - n},{15 - n}}}" for n, codes in sorted(by_length.items())
    ]
    return "^\\+(?:" + "|".join(branches) + ")$"


def amount_schema(places: int) -> dict[str, Any]:
    """A positive amount below 10^14 with at most ``places`` decimals, as number or string."""
    digits = "[1-9][0-9]{0,13}"
    if places:
        digits += f"(?:\\.[0-9]{{1,{places}}})?"
        # 0.x with a non-zero digit among the first ``places``: zero is refused.
        small = [
            "0" * i + "[1-9]" + (f"[0-9]{{0,{places - 1 - i}}}" if places - 1 - i else "")
            for i in range(places)
        ]
        digits += "|0\\.(?:" + "|".join(small) + ")"
    number: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1e14}
    number |= {"multipleOf": 10**-places} if places else {"type": "integer"}
    return {
        "anyOf": [number, {"type": "string", "pattern": f"^(?:{digits})$"}],
        "description": f"A positive amount below 10^14 with at most {places} decimals; "
        "a decimal string keeps it exact",
        "examples": ["1250.00"],
    }


# email-validator refuses the special-use domains (RFC 6761), which never receive mail.
_SPECIAL_USE = "|".join(email_validator.SPECIAL_USE_DOMAIN_NAMES)

INPUT_TYPES: dict[str, dict[str, Any]] = {
    "Phone": {
        "type": "string",
        "pattern": _phone_pattern(),
        "description": "E.164 with a country calling code, e.g. +14155550100",
        "examples": ["+14155550100"],
    },
    "Email": {
        "type": "string",
        "format": "email",
        "maxLength": 320,
        # "=?" would start an RFC 2047 encoded word in a mail header (see kit.validation).
        "not": {"pattern": f"=\\?|[@.](?:{_SPECIAL_USE})\\.?$"},
        "description": "An email address (not at a special-use domain such as .test, without '=?')",
        "examples": ["john.doe@example.com"],
    },
    "TimeZoneName": {
        "type": "string",
        "enum": sorted(available_timezones()),
        "description": "An IANA time zone name",
        "examples": ["America/New_York"],
    },
    "Locale": {
        "type": "string",
        "enum": sorted(locale_identifiers()),
        "description": "A locale as CLDR names it (Babel's identifiers), e.g. en_US or de_DE",
        "examples": ["en_US"],
    },
    "Currency": {
        "type": "string",
        "enum": sorted(list_currencies()),
        "description": "An ISO 4217 code (case-insensitive)",
        "examples": ["USD"],
    },
    "Amount": amount_schema(4),
    "Metadata": {
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        "description": "Your own keys and any JSON values, at most 50 keys",
        "examples": [{"campaign_id": "camp_123", "department": "billing"}],
    },
    "JsonValue": {
        "description": "Any JSON value; numbers of magnitude at most 2^53-1 (RFC 7493)",
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "string"},
            {"type": "number", "minimum": -MAX_SAFE_NUMBER, "maximum": MAX_SAFE_NUMBER},
            {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
            {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
        ],
    },
    "Time": {
        "type": "string",
        "format": "date-time",
        # The instant, in UTC, lies between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z
        # (credira.kit.validation.TIME_MIN). On the range's first and last day an offset can
        # move it out, so the pattern leaves those two days out: 1970-01-02 to 9999-12-30.
        "pattern": "^(?:(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]"
        "|999[0-8])-|1970-(?:(?:0[2-9]|1[0-2])-|01-(?:0[2-9]|[12][0-9]|3[01]))"
        "|9999-(?:(?:0[1-9]|1[01])-|12-(?:0[1-9]|[12][0-9]|30)))",
        "description": "ISO 8601 with a zone (Z or an offset), e.g. 2024-01-25T14:00:00Z; "
        "between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
        "examples": ["2024-01-25T14:00:00Z"],
    },
    "Date": {
        "type": "string",
        "format": "date",
        "pattern": "^(?:19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$",
        "description": "A day, YYYY-MM-DD, between 1970-01-01 and 9999-12-31",
        "examples": ["2024-01-30"],
    },
}


# --- NUL: refused in every string of a request, and the document says so on each ---
#
# The edge (``credira.api.middleware``) refuses a NUL character in any string of a JSON body,
# object keys included, and in any query value: PostgreSQL text cannot hold one. A schema that
# allowed it would have a fuzzer (or a client) send values that are always refused, so every
# string a request carries states it: its own pattern or format already leaves NUL out, or it
# gets ``NO_NUL``; every object with free keys gets ``propertyNames`` with it.

NO_NUL = "^[^\\u0000]*$"
# Formats whose grammar has no NUL (RFC 3339 times and dates, RFC 5321 addresses).
_FORMATS_WITHOUT_NUL = ("date-time", "date", "email")


def _refuse_nul(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _refuse_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not (
        {"pattern", "enum", "const"} & node.keys() or node.get("format") in _FORMATS_WITHOUT_NUL
    ):
        node["pattern"] = NO_NUL
    extra = node.get("additionalProperties")
    if (extra is True or isinstance(extra, dict)) and "propertyNames" not in node:
        node["propertyNames"] = {"pattern": NO_NUL}
    for key, value in node.items():
        # Under ``not`` a pattern would say what is refused, under ``if`` when a rule applies.
        if key not in ("not", "if", "propertyNames"):
            _refuse_nul(value)


def document_no_nul(document: dict[str, Any]) -> None:
    """State on every string of every request (bodies, the schemas they refer to, parameters)
    that NUL is refused. Run last: an id's own pattern (which allows no NUL) comes first."""
    schemas = document.get("components", {}).get("schemas", {})
    pending: list[Any] = []
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                pending.extend(p.get("schema") for p in operation.get("parameters", []))
                content = operation.get("requestBody", {}).get("content", {})
                pending.extend(media.get("schema") for media in content.values())
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        _refuse_nul(node)
        for ref in _refs(node):
            name = ref.rsplit("/", 1)[-1]
            if ref.startswith("#/components/schemas/") and name not in seen:
                seen.add(name)
                pending.append(schemas.get(name))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


_MARKER = "x-input-type"


def bound_numbers(node: Any) -> None:
    """Give every unbounded number the range the edge enforces on any JSON body (magnitude at
    most 2^53-1, see ``credira.api.middleware``): a larger one is refused wherever it appears."""
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            if "minimum" not in node and "exclusiveMinimum" not in node:
                node["minimum"] = -MAX_SAFE_NUMBER
            if "maximum" not in node and "exclusiveMaximum" not in node:
                node["maximum"] = MAX_SAFE_NUMBER
        for value in node.values():
            bound_numbers(value)
    elif isinstance(node, list):
        for value in node:
            bound_numbers(value)


def documented(name: str) -> WithJsonSchema:
    """Document a field with the shared input type ``name`` (see ``INPUT_TYPES``). Pydantic
    cannot point at a schema it did not make, so this leaves a marker that ``link_input_types``
    turns into a ``$ref`` once the document is built."""
    assert name in INPUT_TYPES, name
    return WithJsonSchema({_MARKER: name})


def link_input_types(node: Any) -> None:
    """Replace every ``documented`` marker under ``node`` by a ``$ref`` to its input type."""
    if isinstance(node, dict):
        name = node.pop(_MARKER, None)
        if name is not None:
            node["$ref"] = f"#/components/schemas/{name}"
        for value in node.values():
            link_input_types(value)
    elif isinstance(node, list):
        for value in node:
            link_input_types(value)
