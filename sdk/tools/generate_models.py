"""Write ``credira_sdk/models.py`` from the committed ``openapi.json``: one ``TypedDict`` per
object schema of the document (request bodies and replies, under the document's own names),
one alias per named scalar (``Amount``, ``Phone``...). The envelopes (``*Reply``, ``*ReadList``)
are left out: the client unwraps them.

    python sdk/tools/generate_models.py            # rewrite models.py
    python sdk/tools/generate_models.py --check    # exit 1 when models.py is out of date

Plain TypedDicts on purpose: a reply is the JSON the server wrote, typed for the reader and
the type checker, with no runtime dependency and no conversion on the request path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ruff_format import formatted

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi.json"
TARGET = ROOT / "sdk" / "src" / "credira_sdk" / "models.py"

# Enumerations this long (currencies, locales, time zones) are typed ``str``.
LONGEST_LITERAL = 30

HEADER = '''# ruff: noqa: UP013 - the functional form: some keys (``from``) are not identifiers
"""Request bodies and replies of the Credira API as plain ``TypedDict``s.

Generated from ``openapi.json`` by ``sdk/tools/generate_models.py``; do not edit by hand.
``tests/sdk/test_models.py`` fails when this file and the document disagree.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypeAlias, TypedDict

'''


def _skipped(name: str, schema: dict[str, Any]) -> bool:
    return (
        name.endswith(("Reply", "ReadList"))
        or name in ("ErrorEnvelope", "JsonValue")
        or (name.endswith("Meta") and name != "ReplyMeta")
    )


def _is_object(schema: dict[str, Any]) -> bool:
    return "properties" in schema


def _ref(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _literal(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _type(schema: dict[str, Any]) -> str:
    name = _ref(schema)
    if name is not None:
        return "Any" if name == "JsonValue" else name
    if "anyOf" in schema:
        parts: list[str] = []
        for option in schema["anyOf"]:
            text = _type(option)
            for part in text.split(" | "):
                if part not in parts:
                    parts.append(part)
        if "Any" in parts:
            return "Any"
        # None last, as people write it.
        parts.sort(key=lambda p: p == "None")
        return " | ".join(parts)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    if "const" in schema:
        return f"Literal[{_literal(schema['const'])}]"
    kind = schema.get("type")
    if "enum" in schema and len(schema["enum"]) <= LONGEST_LITERAL:
        return "Literal[" + ", ".join(_literal(v) for v in schema["enum"]) + "]"
    if kind == "string":
        return "str"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "null":
        return "None"
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        value = _type(extra) if isinstance(extra, dict) else "Any"
        return f"dict[str, {value}]"
    return "Any"


def _refs(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        name = _ref(schema)
        if name is not None:
            found.add(name)
        for value in schema.values():
            found |= _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _refs(value)
    return found


def _order(schemas: dict[str, dict[str, Any]]) -> list[str]:
    """Names in an order where each comes after what it refers to (no forward references)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in schemas:
            return
        seen.add(name)
        for dependency in sorted(_refs(schemas[name].get("properties", schemas[name]))):
            visit(dependency)
        done.append(name)

    for name in sorted(schemas):
        visit(name)
    return done


def render(document: dict[str, Any]) -> str:
    schemas = {
        name: schema
        for name, schema in document["components"]["schemas"].items()
        if not _skipped(name, schema)
    }
    lines = [HEADER]
    names = _order(schemas)
    for name in names:
        schema = schemas[name]
        if not _is_object(schema):
            lines.append(f"{name}: TypeAlias = {_type(schema)}\n")
    lines.append("")
    for name in names:
        schema = schemas[name]
        if not _is_object(schema):
            continue
        required = set(schema.get("required", ()))
        fields = []
        for key, value in schema["properties"].items():
            wrap = "Required" if key in required else "NotRequired"
            fields.append(f"        {json.dumps(key)}: {wrap}[{_type(value)}],")
        lines.append(f"\n{name} = TypedDict(\n    {json.dumps(name)},\n    {{\n")
        lines.append("\n".join(fields))
        lines.append("\n    },\n)\n")
    exported = "".join(f"    {json.dumps(n)},\n" for n in sorted(names))
    lines.append(f"\n__all__ = [\n{exported}]\n")
    return formatted("".join(lines), TARGET)


def main(argv: list[str]) -> int:
    text = render(json.loads(DOCUMENT.read_text()))
    if "--check" in argv:
        if TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run python sdk/tools/generate_models.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
