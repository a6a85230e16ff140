"""Bad input, table-driven: every case gets its documented code, a message (or ``error.field``)
naming what is wrong, the error envelope (never a trace, never a 500), and a database left
exactly as it was.

Each case is one change to a body the endpoint accepts (``test_valid_base_body_is_accepted``
proves the bases), so the refusal can only come from the change.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from credira.app import create_app
from credira.auth.permissions import ALL_PERMISSIONS
from credira.config import Settings
from credira.kit.validation import EMAIL_DETAILS, PHONE_DETAILS
from tests.api.conftest import Snapshot, api_routes, snapshot_database
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

MiB = 1024 * 1024

# The endpoints under test, each with a body it accepts. Placeholders in braces are filled with
# the ids of the module's world.
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "create-callout": (
        "POST",
        "/v1/callouts",
        {
            "invoice_id": "{invoice}",
            "scheduled_time": "2030-01-20T10:00:00Z",
            "type": "payment_reminder",
            "priority": "high",
            "target_contact": {
                "name": "John Doe",
                "email": "john.doe@example.com",
                "phone": "+14155550100",
            },
            "actions": {"calls_enabled": True, "emails_enabled": True, "voice_agent_id": "{agent}"},
            "metadata": {"campaign_id": "camp_123"},
        },
    ),
    "update-callout": (
        "PUT",
        "/v1/callouts/{callout}",
        {
            "scheduled_time": "2030-02-01T09:00:00+01:00",
            "priority": "urgent",
            "target_contact": {"email": "jane.roe@example.com", "phone": "+14155550123"},
            "actions": {"calls_enabled": True, "emails_enabled": True, "voice_agent_id": "{agent}"},
            "metadata": {"department": "collections"},
        },
    ),
    "create-call": (
        "POST",
        "/v1/calls",
        {
            "phone_number": "+14155550100",
            "invoice_id": "{invoice}",
            "voice_agent_id": "{agent}",
            "call_purpose": "payment_reminder",
            "scheduled_time": "2030-01-20T10:00:00Z",
            "customer_name": "John Doe",
            "metadata": {"source": "crm"},
        },
    ),
    "create-invoice": (
        "POST",
        "/v1/invoices",
        {
            "number": "INV-BASE",
            "amount": "1250.00",
            "currency": "USD",
            "due_date": "2024-01-30",
            "customer": {
                "name": "John Doe",
                "email": "john.doe@example.com",
                "phone": "+14155550100",
                "timezone": "America/New_York",
            },
            "metadata": {"source": "erp"},
        },
    ),
    "create-agent": (
        "POST",
        "/v1/voice-agents",
        {
            "name": "Ava",
            "language": "en-US",
            "from_number": "+14155550199",
            "max_duration": 300,
            "metadata": {"team": "a"},
        },
    ),
    "create-user": (
        "POST",
        "/v1/users",
        {
            "email": "new.user@acme.example.com",
            "name": "New User",
            "company": "Acme Corporation",
            "phone": "+14155550111",
            "permissions": ["callouts:read"],
            "metadata": {"team": "ops"},
        },
    ),
    "update-user": (
        "PUT",
        "/v1/users/{user}",
        {
            "name": "Renamed User",
            "phone": "+14155550112",
            "status": "active",
            "permissions": ["callouts:read", "callouts:write"],
            "metadata": {"team": "ops"},
        },
    ),
}

_DROP = object()


def body_of(endpoint: str, **changes: Any) -> dict[str, Any]:
    """The endpoint's accepted body with dotted-path changes (``_DROP`` removes the key)."""
    body = copy.deepcopy(ENDPOINTS[endpoint][2])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        if value is _DROP:
            node.pop(last, None)
        else:
            node[last] = value
    return body


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    code: str
    names: str  # must appear in error.message or error.field
    json: Any = None
    raw: bytes | None = None
    content_type: str | None = "application/json"
    chunked: bool = False
    message: str | None = None
    details: str | None = None
    field: str | None = None


def send(case_id: str, endpoint: str, status: int, code: str, names: str, **kwargs: Any) -> Any:
    method, path, _ = ENDPOINTS[endpoint]
    return pytest.param(Case(method, path, status, code, names, **kwargs), id=case_id)


def invalid(case_id: str, endpoint: str, names: str, **kwargs: Any) -> Any:
    return send(case_id, endpoint, 400, "INVALID_REQUEST", names, **kwargs)


def rejected(case_id: str, endpoint: str, field: str, **kwargs: Any) -> Any:
    """A present field with a bad value: 422, ``error.field`` and a message naming it."""
    kwargs.setdefault("message", f"Invalid value for {field}")
    return send(case_id, endpoint, 422, "VALIDATION_ERROR", field, field=field, **kwargs)


def query(case_id: str, path: str, status: int, code: str, names: str, **kwargs: Any) -> Any:
    return pytest.param(Case("GET", path, status, code, names, **kwargs), id=case_id)


def _change(endpoint: str, dotted: str, value: Any) -> dict[str, Any]:
    return body_of(endpoint, **{dotted.replace(".", "__"): value})


MALFORMED = b'{"name": "x",'
PHONE_FIELDS = {
    "create-callout": "target_contact.phone",
    "update-callout": "target_contact.phone",
    "create-call": "phone_number",
    "create-invoice": "customer.phone",
    "create-agent": "from_number",
    "create-user": "phone",
    "update-user": "phone",
}
EMAIL_FIELDS = {
    "create-callout": "target_contact.email",
    "update-callout": "target_contact.email",
    "create-invoice": "customer.email",
    "create-user": "email",
}
METADATA_ENDPOINTS = list(ENDPOINTS)


def _phone_cases() -> Iterator[Any]:
    shared = {
        "digits-without-plus": "12345",
        "country-code-zero": "+0987654321",
        "spaces": "+1 415 555 0100",
        "tel-uri": "tel:+14155550100",
    }
    for endpoint, field in PHONE_FIELDS.items():
        for name, value in shared.items():
            yield _phone(f"{endpoint}-phone-{name}", endpoint, field, value)
    extra = {
        "dashes": "+1-415-555-0100",
        "national-format": "(415) 555-0100",
        "plus-only": "+",
        "unassigned-country-code": "+999123456789",
        "too-long": "+1415555010012345",
        "extension": "+14155550100x1",
        "empty": "",
    }
    for name, value in extra.items():
        yield _phone(
            f"create-callout-phone-{name}", "create-callout", PHONE_FIELDS["create-callout"], value
        )


def _phone(case_id: str, endpoint: str, field: str, value: str) -> Any:
    return rejected(
        case_id,
        endpoint,
        field,
        json=_change(endpoint, field, value),
        message="Invalid phone number format",
        details=PHONE_DETAILS,
    )


def _email_cases() -> Iterator[Any]:
    shared = {"no-at": "not-an-email", "no-domain": "john@", "no-local-part": "@example.com"}
    for endpoint, field in EMAIL_FIELDS.items():
        for name, value in shared.items():
            yield _email(f"{endpoint}-email-{name}", endpoint, field, value)
    extra = {
        "space": "john doe@example.com",
        "two-ats": "john@@example.com",
        "double-dot-domain": "john@example..com",
        "empty": "",
    }
    for name, value in extra.items():
        yield _email(f"create-user-email-{name}", "create-user", "email", value)


def _email(case_id: str, endpoint: str, field: str, value: str) -> Any:
    return rejected(
        case_id,
        endpoint,
        field,
        json=_change(endpoint, field, value),
        message="Invalid email address format",
        details=EMAIL_DETAILS,
    )


def _json_shape_cases() -> Iterator[Any]:
    for endpoint in ENDPOINTS:
        yield invalid(
            f"{endpoint}-malformed-json",
            endpoint,
            "JSON",
            raw=MALFORMED,
            message="Malformed JSON in request body",
        )
        yield invalid(
            f"{endpoint}-body-is-a-list",
            endpoint,
            "body",
            json=[ENDPOINTS[endpoint][2]],
            message="Request body must be a JSON object",
        )
        yield invalid(
            f"{endpoint}-body-is-a-string",
            endpoint,
            "body",
            json="hello",
            message="Request body must be a JSON object",
        )
        yield send(
            f"{endpoint}-body-over-1mib",
            endpoint,
            413,
            "PAYLOAD_TOO_LARGE",
            "body",
            json=body_of(endpoint, metadata={"blob": "x" * (MiB + 1)}),
        )
        yield rejected(
            f"{endpoint}-metadata-is-a-list",
            endpoint,
            "metadata",
            json=body_of(endpoint, metadata=["a", "b"]),
        )
    malformed = {
        "truncated": b'{"invoice_id": ',
        "single-quotes": b"{'priority': 'high'}",
        "trailing-comma": b'{"priority": "high",}',
        "two-documents": b'{"priority": "high"} {"priority": "low"}',
        "nan": b'{"invoice_id": "inv_1", "metadata": {"n": NaN}}',
        "infinity": b'{"invoice_id": "inv_1", "metadata": {"n": -Infinity}}',
        "not-utf8": b'{"invoice_id": "\xff\xfe"}',
        "bare-word": b"hello",
    }
    for name, raw in malformed.items():
        yield invalid(
            f"create-callout-json-{name}",
            "create-callout",
            "JSON",
            raw=raw,
            message="Malformed JSON in request body",
        )
    yield invalid(
        "create-callout-empty-body",
        "create-callout",
        "body",
        raw=b"",
        message="Missing request body",
    )
    yield invalid(
        "update-user-null-body",
        "update-user",
        "body",
        raw=b"null",
        message="Request body must be a JSON object",
    )
    yield invalid(
        "create-callout-body-is-a-number",
        "create-callout",
        "body",
        json=5,
        message="Request body must be a JSON object",
    )
    yield invalid(
        "create-callout-text-plain",
        "create-callout",
        "Content-Type",
        raw=json.dumps(body_of("create-callout")).encode(),
        content_type="text/plain",
        message="Content-Type must be application/json",
    )
    yield send(
        "create-callout-body-over-1mib-streamed-without-length",
        "create-callout",
        413,
        "PAYLOAD_TOO_LARGE",
        "body",
        raw=json.dumps(body_of("create-callout", metadata={"blob": "x" * (MiB + 1)})).encode(),
        chunked=True,
    )
    nested: Any = 1
    for _ in range(40):
        nested = {"a": nested}
    for endpoint in ("create-callout", "update-user"):
        yield invalid(
            f"{endpoint}-json-nested-too-deep",
            endpoint,
            "JSON",
            json=body_of(endpoint, metadata=nested),
        )


def _field_cases() -> Iterator[Any]:
    # Missing required fields: INVALID_REQUEST naming the field.
    for endpoint, dotted in [
        ("create-callout", "invoice_id"),
        ("create-call", "phone_number"),
        ("create-call", "voice_agent_id"),
        ("create-invoice", "amount"),
        ("create-invoice", "customer.name"),
        ("create-agent", "name"),
        ("create-user", "email"),
        ("create-user", "company"),
    ]:
        yield invalid(
            f"{endpoint}-missing-{dotted}",
            endpoint,
            dotted,
            json=_change(endpoint, dotted, _DROP),
            message=f"Missing required field: {dotted}",
        )
    # Unknown fields, top level and nested: INVALID_REQUEST naming the field.
    for endpoint, dotted in [
        ("create-callout", "colour"),
        ("update-callout", "colour"),
        ("create-callout", "actions.sms_enabled"),
        ("update-callout", "actions.sms_enabled"),
        ("create-callout", "target_contact.fax"),
        ("update-callout", "target_contact.fax"),
        ("create-invoice", "tax_rate"),
        ("create-invoice", "customer.vat_id"),
        ("create-agent", "temperature"),
        ("create-user", "password"),
        ("update-user", "email"),
    ]:
        yield invalid(
            f"{endpoint}-unknown-{dotted}",
            endpoint,
            dotted,
            json=_change(endpoint, dotted, "x"),
            message=f"Unknown field: {dotted}",
        )
    # Read-only fields of a callout.
    for name in ("status", "type", "id", "invoice_id", "account_id"):
        yield invalid(
            f"update-callout-read-only-{name}",
            "update-callout",
            name,
            json=_change("update-callout", name, "completed"),
            message=f"Field {name} cannot be updated",
        )
    # Wrong types and bad values: VALIDATION_ERROR naming the field.
    wrong: list[tuple[str, str, str, Any, str | None]] = [
        ("create-callout", "priority-number", "priority", 5, None),
        ("update-callout", "priority-number", "priority", 5, None),
        ("create-callout", "priority-unknown", "priority", "critical", None),
        ("create-callout", "type-unknown", "type", "refund", None),
        ("create-callout", "calls-enabled-string", "actions.calls_enabled", "yes", None),
        ("update-callout", "calls-enabled-string", "actions.calls_enabled", "yes", None),
        ("update-callout", "emails-enabled-number", "actions.emails_enabled", 1, None),
        ("create-callout", "invoice-id-number", "invoice_id", 123, None),
        ("create-callout", "target-contact-string", "target_contact", "John", None),
        ("update-callout", "contact-name-too-long", "target_contact.name", "x" * 201, None),
        ("update-callout", "phone-number-type", "target_contact.phone", 14155550100, None),
        ("update-callout", "email-number-type", "target_contact.email", 5, None),
        ("update-callout", "metadata-51-keys", "metadata", {str(i): i for i in range(51)}, None),
        ("create-invoice", "amount-true", "amount", True, "Amount must be a decimal string"),
        ("create-invoice", "amount-list", "amount", [1], "Amount must be a decimal string"),
        ("create-invoice", "amount-negative", "amount", "-5", "positive"),
        ("create-invoice", "amount-text", "amount", "abc", None),
        ("create-invoice", "amount-too-precise", "amount", "1.001", "decimal places"),
        ("create-invoice", "currency-unknown", "currency", "XYZ", "ISO 4217"),
        ("create-invoice", "due-date-format", "due_date", "30/01/2024", None),
        ("create-invoice", "due-date-impossible", "due_date", "2024-02-30", None),
        ("create-invoice", "timezone-unknown", "customer.timezone", "Mars/Olympus", None),
        ("create-invoice", "payment-url-javascript", "payment_url", "javascript:alert(1)", None),
        ("create-invoice", "status-unknown", "status", "forgiven", None),
        ("create-agent", "max-duration-string", "max_duration", "600", None),
        ("create-agent", "max-duration-too-long", "max_duration", 100000, None),
        ("create-agent", "language-word", "language", "english", None),
        ("create-agent", "script-unknown-placeholder", "script", "Hi {{ssn}}", "ssn"),
        ("create-agent", "provider-unknown", "provider", "acme-voice", None),
        ("create-user", "name-number", "name", 123, None),
        ("create-user", "name-empty", "name", "", None),
        (
            "create-user",
            "permission-unknown",
            "permissions",
            ["callouts:delete"],
            "callouts:delete",
        ),
        ("update-user", "permissions-string", "permissions", "callouts:read", None),
        ("update-user", "status-unknown", "status", "deleted", None),
        ("update-user", "name-empty", "name", "", None),
    ]
    for endpoint, name, dotted, value, details in wrong:
        yield rejected(
            f"{endpoint}-{name}",
            endpoint,
            dotted,
            json=_change(endpoint, dotted, value),
            details=details,
        )
    # Times must be ISO 8601 strings that carry a zone.
    naive = "Time must carry a zone"
    for endpoint in ("create-callout", "update-callout", "create-call"):
        for name, value, details in [
            ("naive", "2024-01-25T14:00:00", naive),
            ("naive-space", "2024-01-25 14:00:00", naive),
            ("date-only", "2024-01-25", naive),
            ("words", "tomorrow", None),
            ("unix-seconds", 1706191200, "ISO 8601"),
            ("offset-out-of-range", "2024-01-25T14:00:00+25:00", None),
            ("after-year-9999-in-utc", "9999-12-31T23:59:59-05:00", "out of range"),
            ("before-year-1-in-utc", "0001-01-01T00:00:00+05:00", "out of range"),
        ]:
            yield rejected(
                f"{endpoint}-scheduled-time-{name}",
                endpoint,
                "scheduled_time",
                json=_change(endpoint, "scheduled_time", value),
                details=details,
            )
    # Values that parse but no backend can store: NUL, lone surrogates, out-of-range numbers.
    unstorable = [
        ("create-agent", "name-nul", b'{"name": "Ava\\u0000"}', "name"),
        ("update-callout", "metadata-nul", b'{"metadata": {"a": "x\\u0000y"}}', "metadata.a"),
        (
            "update-callout",
            "metadata-nul-key",
            b'{"metadata": {"a\\u0000": 1}}',
            "metadata.a\\u0000",
        ),
        (
            "update-callout",
            "metadata-lone-surrogate",
            b'{"metadata": {"a": "\\ud800"}}',
            "metadata.a",
        ),
        (
            "update-callout",
            "contact-name-nul",
            b'{"target_contact": {"name": "J\\u0000"}}',
            "target_contact.name",
        ),
        (
            "update-callout",
            "metadata-huge-integer",
            b'{"metadata": {"n": 123456789012345678901234567890}}',
            "metadata.n",
        ),
        ("update-callout", "metadata-number-overflow", b'{"metadata": {"n": 1e400}}', "metadata.n"),
        ("create-invoice", "number-nul", None, "number"),
    ]
    for endpoint, name, raw, field in unstorable:
        if raw is None:
            raw = json.dumps(body_of(endpoint, number="INV\u0000")).encode()
        yield rejected(f"{endpoint}-{name}", endpoint, field, raw=raw)
    # Bad id formats, in paths and in bodies: INVALID_REQUEST naming the kind of id.
    for path, kind in [
        ("/v1/callouts/callout-1", "callout"),
        ("/v1/callouts/inv_01abc", "callout"),
        ("/v1/callouts/callout_%3Cscript%3E", "callout"),
        ("/v1/callouts/callout_abc%00", "callout"),
        ("/v1/users/user-1", "user"),
        ("/v1/users/callout_01abc", "user"),
    ]:
        endpoint = "update-callout" if kind == "callout" else "update-user"
        yield pytest.param(
            Case(
                "PUT",
                path,
                400,
                "INVALID_REQUEST",
                f"{kind} ID",
                json=ENDPOINTS[endpoint][2],
                message=f"Invalid {kind} ID format",
            ),
            id=f"{endpoint}-bad-path-id-{path.rsplit('/', 1)[1]}",
        )
    for endpoint, dotted, value, kind in [
        ("create-callout", "invoice_id", "inv-1", "invoice"),
        ("create-callout", "invoice_id", "callout_<script>", "invoice"),
        ("create-callout", "invoice_id", "", "invoice"),
        ("create-callout", "invoice_id", "inv_", "invoice"),
        ("create-callout", "actions.voice_agent_id", "agent-1", "voice agent"),
        ("create-call", "invoice_id", "inv-1", "invoice"),
        ("create-call", "voice_agent_id", "agent_<b>", "voice agent"),
        ("update-callout", "actions.voice_agent_id", "inv_01abc", "voice agent"),
        ("create-user", "account_id", "acc-1", "account"),
    ]:
        yield invalid(
            f"{endpoint}-bad-body-id-{dotted}-{value}",
            endpoint,
            f"{kind} ID",
            json=_change(endpoint, dotted, value),
            message=f"Invalid {kind} ID format",
        )


def _query_cases() -> Iterator[Any]:
    callouts = "/v1/callouts?invoice_id={invoice}"
    for name, suffix, field in [
        ("limit-zero", "&limit=0", "limit"),
        ("limit-negative", "&limit=-1", "limit"),
        ("limit-word", "&limit=abc", "limit"),
        ("limit-over-max", "&limit=1001", "limit"),
        ("status-unknown", "&status=bogus", "status"),
    ]:
        yield query(
            f"list-callouts-{name}",
            callouts + suffix,
            422,
            "VALIDATION_ERROR",
            field,
            field=field,
            message=f"Invalid value for {field}",
        )
    for path, field in [
        ("/v1/users?status=bogus", "status"),
        ("/v1/invoices?limit=abc", "limit"),
        ("/v1/invoices?number=%00", "number"),
        ("/v1/voice-agents?status=bogus", "status"),
    ]:
        yield query(
            f"list-{path.split('?')[0].rsplit('/', 1)[1]}-{field}",
            path,
            422,
            "VALIDATION_ERROR",
            field,
            field=field,
            message=f"Invalid value for {field}",
        )
    yield query(
        "list-callouts-starting-after-bad-id",
        callouts + "&starting_after=bogus",
        400,
        "INVALID_REQUEST",
        "callout ID",
        message="Invalid callout ID format",
    )
    yield query(
        "list-callouts-invoice-id-missing",
        "/v1/callouts",
        400,
        "INVALID_REQUEST",
        "invoice_id",
        message="Missing required parameter: invoice_id",
    )
    yield query(
        "list-callouts-invoice-id-bad-format",
        "/v1/callouts?invoice_id=inv-1",
        400,
        "INVALID_REQUEST",
        "invoice ID",
        message="Invalid invoice ID format",
    )


CASES = [
    *_json_shape_cases(),
    *_field_cases(),
    *_phone_cases(),
    *_email_cases(),
    *_query_cases(),
]


@dataclass
class World:
    app: FastAPI
    api: Api
    tenant: Tenant
    ids: dict[str, str]
    # The database as the last passing case left it (and proved unchanged): the next case's
    # "before". A stale value can only make a case fail, never pass.
    known: Snapshot | None = None

    async def snapshot(self) -> Snapshot:
        return await snapshot_database(self.app)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(shared_app: FastAPI, shared_api: Api) -> World:
    tenant = await shared_api.tenant(permissions=list(ALL_PERMISSIONS))
    invoice, agent, callout = await tenant.scenario()
    ids = {
        "invoice": invoice["id"],
        "agent": agent["id"],
        "callout": callout["id"],
        "user": tenant.user_id,
    }
    return World(shared_app, shared_api, tenant, ids)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, id_ in ids.items():
            value = value.replace("{" + name + "}", id_)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _stream(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


async def _send(world: World, case: Case) -> httpx.Response:
    headers = {} if case.content_type is None else {"Content-Type": case.content_type}
    content: Any
    if case.raw is not None:
        content = case.raw
    elif case.method == "GET":
        content = None
    else:
        content = json.dumps(_fill(case.json, world.ids)).encode()
    if case.chunked and content is not None:
        content = _stream(content)
    return await world.tenant.request(
        case.method, _fill(case.path, world.ids), content=content, headers=headers
    )


def assert_error_envelope(reply: httpx.Response) -> dict[str, Any]:
    """The documented error envelope, and nothing of the server's insides."""
    assert reply.headers["content-type"].startswith("application/json"), reply.text
    text = reply.text
    for leak in ("Traceback", 'File "', "sqlalchemy", "pydantic", "Exception"):
        assert leak not in text, text
    body = reply.json()
    assert set(body) == {"success", "error", "meta"}, body
    assert body["success"] is False
    assert body["meta"]["request_id"].startswith("req_")
    assert reply.headers["x-request-id"] == body["meta"]["request_id"]
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "details", "field"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_is_refused_with_its_documented_error(world: World, case: Case) -> None:
    before, world.known = world.known or await world.snapshot(), None
    reply = await _send(world, case)
    assert reply.status_code == case.status, reply.text
    error = assert_error_envelope(reply)
    assert error["code"] == case.code
    if case.message is not None:
        assert error["message"] == case.message
    assert case.names in error["message"] or case.names in error.get("field", ""), error
    if case.status == 422:
        assert error["field"] == case.field
        assert isinstance(error.get("details"), str)
        assert error["details"]
    if case.details is not None:
        assert case.details in error["details"]
    after = await world.snapshot()
    assert after == before
    world.known = after


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_valid_base_body_is_accepted(world: World, endpoint: str) -> None:
    """The control for the table: without the one bad change, the body goes through."""
    method, path, body = ENDPOINTS[endpoint]
    world.known = None
    reply = await world.tenant.request(method, _fill(path, world.ids), json=_fill(body, world.ids))
    assert reply.status_code in (200, 201), reply.text


# The edges of routing itself: unknown routes, wrong methods, faults inside an endpoint.


@pytest.mark.parametrize(
    "path",
    ["/v1/nope", "/v2/callouts", "/v1/callouts/{callout}/explode", "/v1/", "/"],
    ids=["unknown-v1", "unknown-version", "unknown-subresource", "v1-root", "root"],
)
async def test_unknown_route_is_a_not_found_envelope(world: World, path: str) -> None:
    reply = await world.tenant.request("GET", _fill(path, world.ids))
    assert reply.status_code == 404, reply.text
    error = assert_error_envelope(reply)
    assert error["code"] == "NOT_FOUND"


def _allowed(app: FastAPI, path: str) -> set[str]:
    return {m for m, p, _ in api_routes(app) if p == path}


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("PATCH", "/v1/callouts/{callout_id}"),
        ("POST", "/v1/invoices/{invoice_id}"),
        ("DELETE", "/v1/invoices/{invoice_id}"),
        ("PUT", "/v1/callouts"),
        ("DELETE", "/v1/users"),
        ("PATCH", "/v1/voice-agents/{agent_id}"),
    ],
    ids=lambda v: str(v),
)
async def test_wrong_method_is_a_405_envelope_with_allow(
    world: World, method: str, route: str
) -> None:
    path = (
        route.replace("{callout_id}", world.ids["callout"])
        .replace("{invoice_id}", world.ids["invoice"])
        .replace("{agent_id}", world.ids["agent"])
    )
    before, world.known = await world.snapshot(), None
    reply = await world.tenant.request(method, path, json={})
    assert reply.status_code == 405, reply.text
    error = assert_error_envelope(reply)
    assert error["code"] == "METHOD_NOT_ALLOWED"
    allowed = {m.strip() for m in reply.headers["allow"].split(",")}
    expected = _allowed(world.app, route)
    assert expected, route
    assert allowed - {"HEAD"} == expected
    assert method not in allowed
    assert await world.snapshot() == before


@pytest.fixture
def throwaway_app(shared_settings: Settings, tmp_path: Path) -> FastAPI:
    """A fresh app on the module's database with one route that crashes."""
    app = create_app(shared_settings)

    @app.get("/v1/test-crash")
    async def crash() -> None:
        raise RuntimeError("secret-token hunter2 in a stack frame")

    @app.post("/v1/test-crash-after-reading")
    async def crash_after_body(body: dict[str, Any]) -> None:
        raise KeyError("hunter2")

    return app


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/test-crash"), ("POST", "/v1/test-crash-after-reading")],
    ids=["get", "post-with-body"],
)
async def test_exception_in_endpoint_is_an_internal_error_envelope(
    throwaway_app: FastAPI, method: str, path: str
) -> None:
    transport = httpx.ASGITransport(app=throwaway_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        reply = await http.request(method, path, json={"a": 1})
    assert reply.status_code == 500, reply.text
    error = assert_error_envelope(reply)
    assert error == {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}
    for leak in ("hunter2", "RuntimeError", "KeyError", "secret-token"):
        assert leak not in reply.text
