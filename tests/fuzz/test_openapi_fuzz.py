"""schemathesis over every operation of ``/openapi.json``, with every check it has.

The requests come from the document alone; a failure is either a route that breaks its own
declaration (fix the route) or a declaration that does not say what the route does (fix the
document). The document is built to accept exactly what the code accepts: a schema-valid value
is never refused (``positive_data_acceptance``), and a value the schema refuses is refused by
the API too (``negative_data_rejection``), short of thin edges no generator aims at (see
``credira.api.responses``).

SQLite only: what this exercises (validation, serialisation, status codes, headers, the
envelope) sits above the database; the state machine beside this file and the rest of the
suite run both backends. Deterministic (fixed seed, no example database), so CI sees the same
requests every run. ``CREDIRA_FUZZ_EXAMPLES`` and ``CREDIRA_FUZZ_SEED`` (environment) run more
examples per operation, or others, to hunt for mismatches by hand; the suite keeps 10.

Every operation must really be fuzzed: pytest (9.2) builds a test's node id from its function
name and its ``parametrize`` ids, not from the name schemathesis gives each operation's test,
so without a parameter all of them share one id and pytest-xdist runs only the first.
``test_every_operation_was_fuzzed``, the last test of this module (``--dist loadfile`` keeps a
module on one worker, in order), fails unless each operation of the document was called.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi
from schemathesis.specs.openapi.adapter.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from credira.app import create_app
from credira.config import Settings
from tests.fuzz.conftest import APP_SLOT, FuzzTenant
from tests.support import ADMIN_KEY, bearer

MAX_EXAMPLES = int(os.environ.get("CREDIRA_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("CREDIRA_FUZZ_SEED", "20240115"))

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # NUL is generated wherever the document allows it: the edge refuses NUL in every
            # string (PostgreSQL text cannot store it), and the document says so on each string
            # a request carries (``credira.api.responses.document_no_nul``).
            "allow-x00": True,
        },
        "checks": {
            # Valid data may also meet PRECONDITION_FAILED (a well-formed If-Match that is not
            # the object's current ETag: like 404 and 409, which schemathesis already expects
            # here, that answers the stored state) and PAYLOAD_TOO_LARGE (a body whose fields
            # are each within their lengths can still exceed the body limit, which JSON Schema
            # cannot state; 413 is declared on every route with a body).
            "positive_data_acceptance": {
                "expected-statuses": [
                    *("2xx", "3xx", "401", "403", "404", "409", "412", "413", "429", "5xx")
                ]
            },
            # An over-long value may be refused by the body limit before validation reads it.
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422"),
                    *("428", "429", "5xx"),
                ]
            },
        },
    }
)


def _document() -> dict[str, Any]:
    # Built from the routes alone: this app is never started.
    return create_app(Settings(admin_key=ADMIN_KEY, embedded_worker=False)).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = APP_SLOT


def test_fuzzed_document_is_the_served_one(fuzz_app: FastAPI) -> None:
    with asgi.get_client(APP_SLOT) as http:
        reply = http.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.json() == DOCUMENT


def _aim(values: Any, ids: dict[str, str], salt: str) -> bool:
    """Point about half of the generated ids at objects that exist, so that the 200 answers are
    checked too; which half depends on the generated value, so reruns send the same requests.
    Whether any id was changed."""
    aimed = False
    if isinstance(values, dict):
        for name, value in values.items():
            if name in ids and isinstance(value, str) and zlib.crc32((salt + value).encode()) % 2:
                values[name] = ids[name]
                aimed = True
            else:
                aimed = _aim(value, ids, salt) or aimed
    return aimed


# Refusals that depend on a stored object as well as on the request, so that no schema of the
# request can state them: a callout must be able to do what it is set to do with the contact
# taken from its invoice and, on update, the actions it already has; an invoice amount has at
# most its stored currency's decimals. Tolerated (as VALIDATION_ERROR naming one of these
# fields) only for requests aimed at such an object; any other refusal of valid data fails.
STATE_RULES = {
    "POST /v1/callouts": {
        "actions",
        "actions.voice_agent_id",
        "target_contact.phone",
        "target_contact.email",
    },
    "PUT /v1/callouts/{callout_id}": {
        "actions",
        "actions.voice_agent_id",
        "target_contact.phone",
        "target_contact.email",
    },
    "PUT /v1/invoices/{invoice_id}": {"amount"},
}


def _refused_by_stored_state(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    fields = STATE_RULES.get(case.operation.label, set())
    if response.status_code != 422 or not fields:
        return False
    error = response.json()["error"]
    return bool(error["code"] == "VALIDATION_ERROR" and error.get("field") in fields)


# Refusals of requests whose parts the schema states one by one but not together: a plan's
# steps in order, each on a later day, with a voice agent and a template of the account; the
# rows of a CSV body (the document states a string); a voice agent of a real provider needs
# the number it calls from (with the agent's stored provider, on update). Tolerated as
# VALIDATION_ERROR naming a field under the prefix, aimed or not.
ACROSS_FIELDS = {
    "POST /v1/collection-plans": "steps",
    "PUT /v1/collection-plans/{plan_id}": "steps",
    "POST /v1/invoices/import": "",
    "POST /v1/voice-agents": "from_number",
    "PUT /v1/voice-agents/{agent_id}": "from_number",
}


def _refused_across_fields(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    prefix = ACROSS_FIELDS.get(case.operation.label)
    if prefix is None or response.status_code != 422:
        return False
    error = response.json()["error"]
    field = str(error.get("field") or "")
    return bool(error["code"] == "VALIDATION_ERROR" and field.startswith(prefix))


# Operation label -> requests sent, filled by test_operation_conforms_to_openapi.
CALLED: Counter[str] = Counter()


# One value, for the node ids alone: see the module docstring.
@pytest.mark.parametrize("database", ["sqlite"])
@schema.parametrize()
def test_operation_conforms_to_openapi(
    case: schemathesis.Case, fuzz_tenant: FuzzTenant, database: str
) -> None:
    meta = case.meta
    aimed = False
    for location, values in (
        (ParameterLocation.PATH, case.path_parameters),
        (ParameterLocation.QUERY, case.query),
        (ParameterLocation.BODY, case.body),
    ):
        if meta is not None and not meta.is_negative_at(location):
            aimed = _aim(values, fuzz_tenant.ids, case.operation.label) or aimed
    if meta is not None and meta.generation.mode.is_negative and case.headers:
        # See test_invalid_update_with_stale_if_match_is_refused_as_invalid.
        case.headers.pop("If-Match", None)
    headers = bearer(fuzz_tenant.key)
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
        authorization = (case.headers or {}).get("Authorization", "")
        if not authorization.startswith("Bearer "):
            # The invalid part is the key itself (left out, or not a bearer token): sending the
            # fuzzer's key would make the request valid again. The server answers 401.
            headers = {}
    response = case.call(headers=headers)
    CALLED[case.operation.label] += 1
    excluded = []
    if (aimed and _refused_by_stored_state(case, response)) or _refused_across_fields(
        case, response
    ):
        excluded.append(positive_data_acceptance)
    case.validate_response(response, headers=headers, excluded_checks=excluded)


def _operations(document: dict[str, Any]) -> set[str]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    }


def test_every_operation_was_fuzzed() -> None:
    """Runs after the fuzz tests (defined after them); fails if any operation was never sent."""
    missed = sorted(_operations(DOCUMENT) - set(CALLED))
    assert not missed, f"{len(missed)} operation(s) never fuzzed: {missed}"
