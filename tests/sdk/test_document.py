"""The committed ``openapi.json`` is the app's document, and the SDK follows it: its models are
the ones generated from it, its sync client the one written from the async one, and every
operation of the document has a method (the ones it lacks are listed by the failure)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import credira_sdk
from credira.app import create_app
from credira.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SDK = Path(credira_sdk.__file__).parent
DOCUMENT = ROOT / "openapi.json"

# Operations that are not an API client's to call: the links inside emails, followed by the
# recipient's mail client and browser.
NOT_FOR_CLIENTS = {
    ("GET", "/t/o/{token}.gif"),
    ("GET", "/t/c/{token}"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


def test_the_committed_document_is_the_apps(tmp_path: Path, document: dict[str, Any]) -> None:
    # The defaults of every setting, as `./dev openapi --output openapi.json` writes it.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db")
    served = json.loads(json.dumps(create_app(settings).openapi()))
    where = list(_differences(served, document))[:10]
    assert served == document, (
        "openapi.json differs from the app's document: run ./dev openapi --output openapi.json, "
        "then python sdk/tools/generate_models.py, and add SDK methods for new operations. "
        f"It differs at: {where}"
    )


def _differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """JSON pointers where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                yield from _differences(a.get(key), b.get(key), f"{path}/{key}")
    elif a != b:
        yield path or "/"


@pytest.mark.parametrize("tool", ["generate_models.py", "unasync.py"])
def test_generated_sdk_files_are_current(tool: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "sdk" / "tools" / tool), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _template(node: ast.expr) -> str | None:
    """A path argument as the document writes it: ``f"/v1/x/{x_id}"`` -> ``/v1/x/{x_id}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                parts.append("{" + value.value.id + "}")
            else:
                return None
        return "".join(parts)
    return None


def sdk_operations() -> dict[tuple[str, str], tuple[str, ast.AsyncFunctionDef | ast.FunctionDef]]:
    """``(METHOD, path)`` -> the method of ``AsyncClient`` (or a resource) that calls it."""
    tree = ast.parse((SDK / "_async_client.py").read_text())
    found: dict[tuple[str, str], tuple[str, ast.AsyncFunctionDef | ast.FunctionDef]] = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for fn in (n for n in cls.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)):
            if fn.name.startswith("_"):
                continue
            for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
                func = call.func
                if not isinstance(func, ast.Attribute) or not call.args:
                    continue
                if func.attr == "_page":
                    method, path = "GET", _template(call.args[0])
                elif func.attr in ("_request", "_raw") and len(call.args) >= 2:
                    first = call.args[0]
                    method = str(first.value) if isinstance(first, ast.Constant) else "?"
                    path = _template(call.args[1])
                else:
                    continue
                if path is not None:
                    found[(method, path)] = (f"{cls.name}.{fn.name}", fn)
    return found


def document_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_every_operation_of_the_document_has_a_method(document: dict[str, Any]) -> None:
    covered = sdk_operations()
    lacking = sorted(document_operations(document) - set(covered) - NOT_FOR_CLIENTS)
    assert lacking == [], (
        "operations of openapi.json the SDK lacks (add a method to "
        f"sdk/src/credira_sdk/_async_client.py, then run sdk/tools/unasync.py): {lacking}"
    )
    stale = sorted(set(covered) - document_operations(document))
    assert stale == [], f"SDK methods for operations the document does not have: {stale}"


def _reply_schema(operation: dict[str, Any], schemas: dict[str, Any]) -> str | None:
    """The component name of a JSON operation's ``data`` (``Page[X]`` for a list)."""
    for status, response in operation["responses"].items():
        if not status.startswith("2"):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        envelope = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
        data = envelope.get("properties", {}).get("data", {})
        if "$ref" in data:
            return str(data["$ref"].rsplit("/", 1)[-1])
        if data.get("type") == "array":
            return f"Page[{data['items']['$ref'].rsplit('/', 1)[-1]}]"
    return None


def test_methods_return_and_filter_as_the_document_says(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    wrong = []
    for (method, path), (name, fn) in sdk_operations().items():
        operation = document["paths"][path][method.lower()]
        expected = _reply_schema(operation, schemas)
        returns = ast.unparse(fn.returns) if fn.returns is not None else None
        if expected is not None and returns != expected:
            wrong.append(f"{name} returns {returns}, the document {expected}")
        arguments = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        for parameter in operation.get("parameters", []):
            if parameter["in"] in ("query", "path") and parameter["name"] not in arguments:
                if parameter["in"] == "path" and "{" + parameter["name"] + "}" not in path:
                    continue
                if parameter["in"] == "path" and fn.name in ("transcript", "recording"):
                    continue  # the file's name is made from the call id
                wrong.append(f"{name} lacks the {parameter['in']} parameter {parameter['name']}")
    assert wrong == []
