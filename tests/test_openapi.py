"""``/openapi.json`` is a valid document that declares every route's errors; ``/docs`` serves."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from credira.app import create_app
from credira.config import Settings
from tests.support import ADMIN_KEY

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
ERROR_REF = "#/components/schemas/ErrorEnvelope"


@asynccontextmanager
async def _http(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The document needs no database; a SQLite path that is never migrated is enough.
    settings = Settings(data_dir=data_dir, admin_key=ADMIN_KEY, embedded_worker=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _fetch_spec(data_dir: Path) -> dict[str, Any]:
    async with _http(data_dir) as client:
        reply = await client.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = reply.json()
    return body


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Fetched once over HTTP; every test reads the same document."""
    return asyncio.run(_fetch_spec(tmp_path_factory.mktemp("openapi")))


def operations(spec: dict[str, Any], prefix: str = "/v1/") -> Iterator[tuple[str, str, Any]]:
    for path, item in spec["paths"].items():
        if path.startswith(prefix):
            for method, operation in item.items():
                if method in METHODS:
                    yield path, method, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external $ref {ref}"
    node: Any = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), ref
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def test_openapi_document_is_structurally_valid(spec: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.[01]\.\d+", spec["openapi"])
    assert spec["info"]["title"]
    assert spec["info"]["version"]
    assert spec["paths"]
    for ref in set(_refs(spec)):
        _resolve(spec, ref)
    seen: set[str] = set()
    for path, method, operation in operations(spec, prefix="/"):
        operation_id = operation.get("operationId")
        assert operation_id, f"{method} {path} has no operationId"
        assert operation_id not in seen, f"duplicate operationId {operation_id}"
        seen.add(operation_id)
        assert operation["responses"], f"{method} {path} declares no response"
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d|default", status), (path, status)
            assert response.get("description"), f"{method} {path} {status} has no description"
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path} path params"
        for parameter in operation.get("parameters", []):
            assert parameter["in"] in {"path", "query", "header", "cookie"}
            assert "schema" in parameter or "content" in parameter
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}


def test_v1_exposes_the_documented_endpoints(spec: dict[str, Any]) -> None:
    present = {(method, path) for path, method, _ in operations(spec)}
    expected = {
        ("post", "/v1/users"),
        ("get", "/v1/users/{user_id}"),
        ("put", "/v1/users/{user_id}"),
        ("delete", "/v1/users/{user_id}"),
        ("get", "/v1/callouts"),
        ("post", "/v1/callouts"),
        ("get", "/v1/callouts/{callout_id}"),
        ("put", "/v1/callouts/{callout_id}"),
        ("delete", "/v1/callouts/{callout_id}"),
        ("post", "/v1/callouts/{callout_id}/cancel"),
        ("post", "/v1/invoices"),
        ("get", "/v1/invoices/{invoice_id}"),
        ("post", "/v1/voice-agents"),
    }
    assert expected <= present


def test_every_v1_operation_has_summary_description_and_bearer_security(
    spec: dict[str, Any],
) -> None:
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), f"{where} has no summary"
        assert len(operation.get("description", "")) > 20, f"{where} has no docstring"
        assert operation.get("security") == [{"bearerAuth": []}], f"{where} security"
        assert operation.get("tags"), f"{where} has no tag"


def _required_errors(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    required = {"400", "401", "403", "429", "500", "503"}
    if "{" in path:
        required.add("404")
    if "requestBody" in operation:
        required |= {"413", "422"}
    if method == "post":
        required.add("409")  # an Idempotency-Key reused with another body
    if method == "put":
        required.add("412")
    return required


def test_every_v1_operation_declares_its_errors_with_the_envelope(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        missing = _required_errors(path, method, operation) - set(responses)
        assert not missing, f"{where} does not declare {sorted(missing)}"
        for status, response in responses.items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, f"{where} {status} is not the error envelope"


def test_error_envelope_schema_matches_the_wire(spec: dict[str, Any]) -> None:
    envelope = _resolve(spec, ERROR_REF)
    assert set(envelope["properties"]) == {"success", "error", "meta"}
    error = _resolve(spec, envelope["properties"]["error"]["$ref"])
    assert {"code", "message"} <= set(error["required"])
    assert "details" in error["properties"]
    meta = _resolve(spec, envelope["properties"]["meta"]["$ref"])
    assert {"timestamp", "request_id"} <= set(meta["required"])
    # FastAPI's own 422 body would contradict the envelope; it must not be documented anywhere.
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_success_replies_are_documented_as_the_envelope(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                schema = response["content"]["application/json"]["schema"]
                resolved = _resolve(spec, schema["$ref"]) if "$ref" in schema else schema
                assert {"success", "data", "meta"} <= set(resolved.get("properties", {})), (
                    f"{method.upper()} {path} {status}"
                )


UNVERSIONED_PUTS = ("/v1/account/settings", "/v1/account/providers/{provider}")


def test_safe_write_headers_are_declared(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "post":
            assert "Idempotency-Key" in headers, f"POST {path}"
        if method == "put" and path not in UNVERSIONED_PUTS:
            # Account settings are not a versioned object with a GET of its own (they are read
            # through GET /v1/account), nor are a provider's settings (write-only credentials,
            # listed by GET /v1/account/providers); every other PUT updates one and honours
            # If-Match.
            assert "If-Match" in headers, f"PUT {path}"
            ok = operation["responses"]["200"]
            assert "ETag" in ok.get("headers", {}), f"PUT {path} reply ETag"
            read = spec["paths"][path]["get"]["responses"]["200"]
            assert "ETag" in read.get("headers", {}), f"GET {path} reply ETag"


async def test_docs_serve_html(tmp_path: Path) -> None:
    async with _http(tmp_path) as http:
        reply = await http.get("/docs")

    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in reply.text
    assert "swagger" in reply.text.lower()
