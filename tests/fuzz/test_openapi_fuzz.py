"""schemathesis over every operation of ``/openapi.json``, with every check it has.

The generated requests come from the document alone; a failure is either a route that breaks
its own declaration (fix the route) or a declaration that does not say what the route does
(fix the document). Runs on SQLite only: what it exercises (validation, serialisation, status
codes, headers, the envelope) is above the database, and the state machine beside this file and
the rest of the suite run both backends.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi

from credira.app import create_app
from credira.config import Settings
from tests.fuzz.conftest import APP_SLOT
from tests.support import ADMIN_KEY, bearer

MAX_EXAMPLES = 10
SEED = 20240115

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
)


def _document() -> dict[str, Any]:
    # The document is built from the routes alone; this app is never started.
    app = create_app(Settings(admin_key=ADMIN_KEY, embedded_worker=False))
    return app.openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = APP_SLOT


def test_fuzzed_document_is_the_served_one(fuzz_app: FastAPI) -> None:
    with asgi.get_client(APP_SLOT) as http:
        reply = http.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.json() == DOCUMENT


@schema.parametrize()
def test_operation_conforms_to_openapi(
    case: schemathesis.Case, fuzz_app: FastAPI, fuzz_key: str
) -> None:
    case.call_and_validate(headers=bearer(fuzz_key))
