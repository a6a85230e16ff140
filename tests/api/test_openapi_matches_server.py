"""The OpenAPI document says what the server accepts, no more and no less (issue 16, finding 10).

A client or fuzzer written from ``/openapi.json`` must never have a request that the document
allows refused: ``null`` on an optional field, the permission names, the account's ``locale``,
a ``payment_url`` read by an ECMA-flavoured validator, NUL characters in any text. Each test
here sends what the document allows (or reads what it states) and checks the server's answer.
The whole document is fuzzed in tests/fuzz/test_openapi_fuzz.py; these are the cases it missed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import regress
from hypothesis import given, settings
from hypothesis import strategies as st

from credira.app import create_app
from credira.auth.permissions import ALL_PERMISSIONS
from credira.config import Settings
from credira.email_template.render import check_template
from tests.support import ADMIN_KEY, Api, Tenant, bearer

# The tests that talk to the server share its module-wide app (and event loop).
in_module_loop = pytest.mark.asyncio(loop_scope="module")

# Reply fields that differ between two otherwise equal objects.
VOLATILE = {"id", "created_time", "updated_time", "api_key", "email", "tracking_id"}


@dataclass
class World:
    tenant: Tenant
    invoice: dict[str, Any]
    agent: dict[str, Any]
    template: dict[str, Any]
    document: dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(shared_api: Api) -> World:
    tenant = await shared_api.tenant(permissions=list(ALL_PERMISSIONS))
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    template = await tenant.ok(
        "POST",
        "/v1/email-templates",
        json={
            "name": "Reminder",
            "subject": "Your invoice",
            "html_content": "<p>Please pay your invoice.</p>",
            "text_content": "Please pay your invoice.",
            "category": "payment_reminder",
        },
    )
    reply = await shared_api.client.get("/openapi.json")
    assert reply.status_code == 200
    return World(tenant, invoice, agent, template["data"], reply.json())


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = document["components"]["schemas"][name]
    return node


def _branches(document: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of a schema (itself, or the resolved branches of its ``anyOf``)."""
    node = _resolve(document, node)
    if "anyOf" in node:
        return [_resolve(document, branch) for branch in node["anyOf"]]
    return [node]


def _property(document: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][model]["properties"][name]
    return schema


def _without_volatile(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in VOLATILE}


async def _created(tenant: Tenant, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    reply = await tenant.request("POST", path, json=body, **kw)
    assert reply.status_code == 201, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


async def _assert_null_is_absent(
    tenant: Tenant, path: str, base: dict[str, Any], nulls: list[str], **kw: Any
) -> dict[str, Any]:
    """POST ``base`` with each of ``nulls`` set to null, then without them: the same object."""
    with_nulls = await _created(tenant, path, {**base, **dict.fromkeys(nulls)}, **kw)
    plain = await _created(tenant, path, base, **kw)
    assert _without_volatile(with_nulls) == _without_volatile(plain)
    return with_nulls


# --- null on an optional field is the field left out ---------------------------------------


@in_module_loop
async def test_null_optional_fields_are_treated_as_absent_on_post_calls(world: World) -> None:
    base = {
        "phone_number": "+14155550100",
        "invoice_id": world.invoice["id"],
        "voice_agent_id": world.agent["id"],
        "scheduled_time": "2030-01-20T10:00:00Z",
    }
    nulls = ["call_purpose", "customer_name", "metadata"]
    call = await _assert_null_is_absent(world.tenant, "/v1/calls", base, nulls)
    assert call["call_purpose"] == "payment_reminder"
    assert call["metadata"] == {}


@in_module_loop
async def test_null_optional_fields_are_treated_as_absent_on_post_send_email(
    world: World,
) -> None:
    base = {
        "template_id": world.template["id"],
        "recipient_email": "john.doe@example.com",
        "scheduled_time": "2030-01-20T10:00:00Z",
    }
    nulls = ["recipient_name", "callout_id", "variables", "priority", "email_type", "metadata"]
    await _assert_null_is_absent(world.tenant, "/v1/send-email", base, nulls)


@in_module_loop
async def test_null_optional_fields_are_treated_as_absent_on_post_users(world: World) -> None:
    nulls = ["role", "department", "phone", "account_id", "permissions", "metadata"]
    with_nulls = await _created(
        world.tenant,
        "/v1/users",
        {"email": "nulls@acme.example.com", "name": "N", "company": "C", **dict.fromkeys(nulls)},
    )
    plain = await _created(
        world.tenant, "/v1/users", {"email": "plain@acme.example.com", "name": "N", "company": "C"}
    )
    assert _without_volatile(with_nulls) == _without_volatile(plain)
    assert with_nulls["metadata"] == {}


@in_module_loop
@pytest.mark.parametrize(
    ("path", "base", "nulls"),
    [
        (
            "/v1/invoices",
            {
                "amount": "10.00",
                "currency": "USD",
                "due_date": "2024-01-30",
                "customer": {"name": "John Doe", "email": None, "phone": None, "timezone": None},
            },
            ["status", "payment_url", "metadata"],
        ),
        (
            "/v1/voice-agents",
            {"name": "Ava"},
            [
                *("provider", "voice", "language", "from_number", "script", "max_duration"),
                *("status", "metadata"),
            ],
        ),
        (
            "/v1/callouts",
            {
                "invoice_id": "{invoice}",
                "actions": {"calls_enabled": True, "voice_agent_id": "{agent}"},
                "scheduled_time": "2030-01-20T10:00:00Z",
            },
            ["type", "priority", "target_contact", "metadata"],
        ),
        (
            "/v1/email-templates",
            {
                "name": "T",
                "subject": "S",
                "html_content": "<p>x</p>",
                "text_content": "x",
                "category": "follow_up",
            },
            ["status", "metadata"],
        ),
    ],
    ids=["invoices", "voice-agents", "callouts", "email-templates"],
)
async def test_null_optional_fields_are_treated_as_absent_on_every_post(
    world: World, path: str, base: dict[str, Any], nulls: list[str]
) -> None:
    ids = {"{invoice}": world.invoice["id"], "{agent}": world.agent["id"]}
    filled: dict[str, Any] = {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in base.items()
    }
    if "actions" in filled:
        filled["actions"] = {k: ids.get(v, v) for k, v in filled["actions"].items()}
    if path == "/v1/invoices":
        # Numbers are unique per account: each of the two requests gets its own.
        with_nulls = await _created(
            world.tenant, path, {**filled, "number": "NULLS-1", **dict.fromkeys(nulls)}
        )
        plain = await _created(world.tenant, path, {**filled, "number": "NULLS-2"})
        assert {**_without_volatile(with_nulls), "number": None} == {
            **_without_volatile(plain),
            "number": None,
        }
    else:
        await _assert_null_is_absent(world.tenant, path, filled, nulls)


@in_module_loop
async def test_null_revoke_existing_is_treated_as_absent_on_rotate_key(
    world: World, shared_api: Api
) -> None:
    user = await _created(
        world.tenant, "/v1/users", {"email": "rotate@acme.example.com", "name": "R", "company": "C"}
    )
    old_key = user["api_key"]
    reply = await world.tenant.request(
        "POST", f"/v1/users/{user['id']}/rotate-key", json={"revoke_existing": None}
    )
    assert reply.status_code == 201, reply.text
    # The default, revoke_existing true: the old key stops working.
    old = await shared_api.client.get(f"/v1/users/{user['id']}", headers=bearer(old_key))
    assert old.status_code == 401, old.text


def _body_models(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object schema a request body can hold, nested ones included, by name."""
    pending = []
    for item in document["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            for media in body.get("content", {}).values():
                pending.append(media["schema"])
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    model = document["components"]["schemas"][name]
                    if "properties" in model:
                        yield name, model
                    pending.append(model)
                continue
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def test_openapi_declares_every_optional_body_field_nullable() -> None:
    """What the PUT endpoints always took, every POST takes too: null on an optional field."""
    document = _document()
    models = dict(_body_models(document))
    assert {"CallCreate", "SendEmailCreate", "UserCreate", "KeyRotate"} <= set(models)
    not_nullable = [
        f"{name}.{field}"
        for name, model in models.items()
        for field, schema in model["properties"].items()
        if field not in model.get("required", [])
        and {"type": "null"} not in _branches(document, schema)
    ]
    assert not not_nullable, not_nullable


# --- enumerations the server checks ---------------------------------------------------------


@in_module_loop
async def test_openapi_permissions_are_an_enum(world: World) -> None:
    for model in ("UserCreate", "UserUpdate"):
        (array,) = [
            b
            for b in _branches(world.document, _property(world.document, model, "permissions"))
            if b.get("type") == "array"
        ]
        assert array["items"].get("enum") == list(ALL_PERMISSIONS), model
    # Each listed name is one the server takes (the admin key may grant them all) ...
    user = await _created(
        world.tenant,
        "/v1/users",
        {"email": "perms@acme.example.com", "name": "P", "company": "C", "account_id": None}
        | {"permissions": list(ALL_PERMISSIONS)},
        headers=bearer(ADMIN_KEY),
    )
    assert sorted(user["permissions"]) == sorted(ALL_PERMISSIONS)
    # ... and a name it does not list is refused.
    reply = await world.tenant.request(
        "PUT", f"/v1/users/{user['id']}", json={"permissions": ["calls:delete"]}
    )
    assert reply.status_code == 422, reply.text


@in_module_loop
async def test_openapi_locale_is_the_list_the_server_accepts(world: World) -> None:
    (listed,) = [
        b
        for b in _branches(
            world.document, _property(world.document, "AccountSettingsUpdate", "locale")
        )
        if b.get("type") == "string"
    ]
    locales: list[str] = listed["enum"]
    assert {"en_US", "de_DE", "fr_FR", "ja_JP"} <= set(locales)
    for locale in [*locales[:: max(1, len(locales) // 25)], locales[-1], "de_DE"]:
        reply = await world.tenant.request("PUT", "/v1/account/settings", json={"locale": locale})
        assert reply.status_code == 200, (locale, reply.text)
        assert reply.json()["data"]["settings"]["locale"] == locale
    # Spellings Babel would parse, but that the document does not list: refused, not stored.
    for unlisted in ("en_us", "EN", "und", "de_DE.UTF-8", "en-US", "en_ZZ"):
        assert unlisted not in locales
        reply = await world.tenant.request("PUT", "/v1/account/settings", json={"locale": unlisted})
        assert reply.status_code == 422, (unlisted, reply.text)
        assert reply.json()["error"]["field"] == "locale"


# --- patterns mean the same to the server (Python) and to an ECMA 262 validator --------------


def _probe_characters() -> list[str]:
    """Where regular-expression flavours disagree: spaces, line and format characters, controls
    (in Python ``\\s`` holds U+001C-U+001F and U+0085, in ECMA 262 U+FEFF), and a few others."""
    chosen = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if char.isspace() or unicodedata.category(char) in ("Cc", "Zs", "Zl", "Zp"):
            chosen.append(char)
    chosen += ["\u180e", "\u200b", "\u2060", "\ufeff", "a", "\u00e9", "\U0001f600"]
    return chosen


@in_module_loop
async def test_payment_url_pattern_means_the_same_in_python_and_ecma(world: World) -> None:
    (url,) = [
        b
        for b in _branches(
            world.document, _property(world.document, "InvoiceUpdate", "payment_url")
        )
        if b.get("type") == "string"
    ]
    pattern = url["pattern"]
    ecma, python = regress.Regex(pattern), re.compile(pattern)
    # Over every character, the document's pattern reads the same in both flavours ...
    for code in range(0x110000):
        if not 0xD800 <= code <= 0xDFFF:
            candidate = f"https://pay.example.com/{chr(code)}x"
            assert (ecma.find(candidate) is not None) == (python.search(candidate) is not None), (
                hex(code)
            )
    # ... and the server, asked, agrees with what an ECMA validator reads in it.
    refused: list[str] = []
    path = f"/v1/invoices/{world.invoice['id']}"
    for char in _probe_characters():
        candidate = f"https://pay.example.com/{char}x"
        reply = await world.tenant.request("PUT", path, json={"payment_url": candidate})
        allowed = ecma.find(candidate) is not None
        assert reply.status_code == (200 if allowed else 422), (hex(ord(char)), reply.text)
        if not allowed:
            refused.append(char)
    assert {"\u0085", "\ufeff", " ", "\u2028", "\x00"} <= set(refused)


# Escapes whose meaning depends on the flavour (and, in Python, on the Unicode flag).
_FLAVOURED = re.compile(r"(?<!\\)(?:\\\\)*\\[sSwWdDbB]")


def _patterns(node: Any, *, refusals: bool = True) -> Iterator[str]:
    """The patterns under ``node``; with ``refusals=False``, not those under ``not`` or ``if``
    (a pattern there says what is refused, or when a rule applies)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif refusals or key not in ("not", "if"):
                yield from _patterns(value, refusals=refusals)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value, refusals=refusals)


def _document() -> dict[str, Any]:
    return create_app(Settings(admin_key=ADMIN_KEY, embedded_worker=False)).openapi()


def test_openapi_patterns_use_no_flavour_dependent_classes() -> None:
    """``\\s``, ``\\w``, ``\\d`` and ``\\b`` mean other things to the server (Python or Rust)
    than to an ECMA 262 validator; every pattern of the document spells its classes out."""
    flavoured = sorted({p for p in _patterns(_document()) if _FLAVOURED.search(p)})
    assert not flavoured, flavoured


# --- NUL: refused in every text, and the document says so ---------------------------------


NUL_FREE_FIELDS = [
    ("UserCreate", "name"),
    ("UserCreate", "role"),
    ("CallCreate", "customer_name"),
    ("EmailTemplateCreate", "html_content"),
    ("EmailTemplateCreate", "subject"),
    ("VoiceAgentCreate", "script"),
    ("InvoiceCreate", "number"),
    ("InvoiceUpdate", "status_reason"),
]


def _string_schemas(document: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in _branches(document, node) if b.get("type") == "string"]


def _refuses(schema: dict[str, Any], text: str) -> bool:
    pattern = schema.get("pattern")
    return pattern is not None and regress.Regex(pattern).find(text) is None


def test_openapi_states_that_nul_is_refused_in_metadata_and_text() -> None:
    document = _document()
    schemas = document["components"]["schemas"]
    metadata = schemas["Metadata"]
    assert _refuses(metadata["propertyNames"], "key\x00")
    assert not _refuses(metadata["propertyNames"], "key")
    (text,) = _string_schemas(document, {"anyOf": schemas["JsonValue"]["anyOf"]})
    assert _refuses(text, "value\x00")
    assert not _refuses(text, "value")
    nested = [b for b in schemas["JsonValue"]["anyOf"] if b.get("type") == "object"]
    assert all(_refuses(b["propertyNames"], "\x00") for b in nested)
    variables = _property(document, "SendEmailCreate", "variables")
    (variables,) = [b for b in _branches(document, variables) if b.get("type") == "object"]
    assert _refuses(variables["propertyNames"], "a\x00")
    for model, field in NUL_FREE_FIELDS:
        (string,) = _string_schemas(document, _property(document, model, field))
        assert _refuses(string, "a\x00b"), (model, field)
        assert not _refuses(string, "ab"), (model, field)


def _request_string_patterns() -> list[str]:
    """Every pattern on a string that a request carries (the body's, the parameters')."""
    document = _document()
    found: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                found.update(_patterns(parameter.get("schema", {}), refusals=False))
    for _name, model in _body_models(document):
        found.update(_patterns(model, refusals=False))
    for name in ("Metadata", "JsonValue", "Phone", "Email", "Time"):
        found.update(_patterns(document["components"]["schemas"].get(name, {}), refusals=False))
    return sorted(found)


@pytest.mark.parametrize("pattern", _request_string_patterns())
@given(data=st.data())
def test_no_documented_pattern_admits_nul(pattern: str, data: st.DataObject) -> None:
    """Any string a pattern allows, with a NUL put in it, is one the pattern refuses, as the
    server does (``not`` patterns, which refuse what they match, are not among these)."""
    if pattern.startswith("^") and not pattern.endswith("$"):
        # A prefix rule (a time's year) beside a ``format`` that allows no NUL.
        return
    text = data.draw(st.from_regex(pattern, fullmatch=True))
    at = data.draw(st.integers(0, len(text)))
    assert regress.Regex(pattern).find(text[:at] + "\x00" + text[at:]) is None


@in_module_loop
async def test_openapi_subject_pattern_refuses_what_the_server_refuses(world: World) -> None:
    """A template's subject is one line: the document's pattern says which characters end it."""
    (subject,) = _string_schemas(
        world.document, _property(world.document, "EmailTemplateCreate", "subject")
    )
    ecma = regress.Regex(subject["pattern"])
    body = {"name": "T", "html_content": "<p>x</p>", "text_content": "x", "category": "follow_up"}
    for text in ("a\nb", "a\rb", "a\r\nb", "a\tb", "a b", "a\u2028b"):
        reply = await world.tenant.request(
            "POST", "/v1/email-templates", json={**body, "subject": text}
        )
        allowed = ecma.find(text) is not None
        assert reply.status_code == (201 if allowed else 422), (text, reply.text)


def _template_patterns() -> list[Any]:
    schemas = _document()["components"]["schemas"]
    return [
        pytest.param(
            field,
            _string_schemas({}, schemas["EmailTemplateCreate"]["properties"][field])[0]["pattern"],
            id=field,
        )
        for field in ("subject", "html_content")
    ]


@pytest.mark.parametrize(("field", "pattern"), _template_patterns())
# No deadline: drawing from a pattern of hundreds of alternatives takes long on a busy host.
@settings(deadline=None, max_examples=50)
@given(data=st.data())
def test_template_pattern_admits_only_templates_the_server_takes(
    field: str, pattern: str, data: st.DataObject
) -> None:
    """A template part the document's pattern allows (text, ``{{ name | filter }}``
    placeholders) is one the server saves: its syntax check (``render.check_template``) and,
    for a subject, its single line."""
    source = data.draw(st.from_regex(pattern, fullmatch=True), label="source")
    assert regress.Regex(pattern).find(source) is not None
    check_template(field, source)
    if field == "subject":
        assert "\r" not in source
        assert "\n" not in source


@pytest.mark.parametrize(
    "source",
    [
        *("{# note #}", "{% if a %}x{% endif %}", "{{ a | default('x') }}", "{{ self }}"),
        *("{{ a.b }}", "{{ not }}", "{{ a", "{%s", "{#", "x\x00"),
    ],
)
def test_template_pattern_leaves_out_what_it_cannot_state(source: str) -> None:
    """Outside the stated part: what the server refuses (attributes, reserved names, open tags,
    NUL) and what it takes but no pattern can balance (blocks, comments, filter arguments)."""
    for _field, pattern in (p.values for p in _template_patterns()):
        assert regress.Regex(pattern).find(source) is None
