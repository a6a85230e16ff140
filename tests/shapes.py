"""Comparing a reply with a documented example: the same keys at every level and the same JSON
types, and on request the documented formats of ids and timestamps."""

from __future__ import annotations

import re
from typing import Any

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


# Checked in this order: a boolean is also an int.
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def json_type(value: Any) -> str:
    """The JSON type of a decoded value; booleans are not integers, integers are not floats."""
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    raise TypeError(f"not a JSON value: {value!r}")


def _id_like(key: str) -> bool:
    return key in ("id", "api_key") or key.endswith("_id")


def _is_timestamp(value: Any) -> bool:
    return isinstance(value, str) and TIMESTAMP.fullmatch(value) is not None


def shape_diff(
    ours: Any,
    documented: Any,
    path: str = "$",
    *,
    optional: frozenset[str] = frozenset(),
    formats: bool = False,
) -> list[str]:
    """Every place where ``ours`` differs from ``documented`` in keys or JSON types.

    Objects must have exactly the documented keys (those named in ``optional``, as dotted paths
    like ``$.error.details``, may be present or absent); each element of an array is compared
    with the documented array's first element, and an empty array where the docs show elements
    is a difference (the scenario is meant to produce some). With ``formats``, an id (``id``,
    ``api_key``, ``*_id``) must also carry the documented prefix, and where the docs show a
    timestamp ours must be one too (ISO 8601, UTC, whole seconds).
    """
    if json_type(ours) != json_type(documented):
        return [f"{path}: {json_type(ours)} where the docs have {json_type(documented)}"]
    problems: list[str] = []
    if isinstance(documented, dict):
        extra = set(ours) - set(documented) - {k for k in ours if f"{path}.{k}" in optional}
        missing = set(documented) - set(ours)
        problems += [f"{path}.{k}: not documented" for k in sorted(extra)]
        problems += [f"{path}.{k}: missing" for k in sorted(missing)]
        for key in sorted(set(ours) & set(documented)):
            child, value = ours[key], documented[key]
            if formats and _id_like(key) and isinstance(value, str) and isinstance(child, str):
                prefix = value.rpartition("_")[0] + "_"
                if not child.startswith(prefix):
                    problems.append(f"{path}.{key}: {child!r} lacks the prefix {prefix!r}")
            problems += shape_diff(
                child, value, f"{path}.{key}", optional=optional, formats=formats
            )
    elif isinstance(documented, list) and documented:
        if not ours:
            problems.append(f"{path}: empty where the docs show elements")
        for i, item in enumerate(ours):
            problems += shape_diff(
                item, documented[0], f"{path}[{i}]", optional=optional, formats=formats
            )
    elif formats and _is_timestamp(documented) and not _is_timestamp(ours):
        problems.append(f"{path}: {ours!r} is not an ISO 8601 UTC second")
    return problems


def assert_same_shape(
    ours: Any, documented: Any, *, optional: frozenset[str] = frozenset(), formats: bool = False
) -> None:
    problems = shape_diff(ours, documented, optional=optional, formats=formats)
    assert not problems, "\n".join(problems)
