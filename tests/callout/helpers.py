"""Helpers for the callout tests: JSON shapes, the seed file, and moving a callout's status."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from credira.callout import service
from credira.models import Callout

# A verbatim copy of ../shared/seeds/000_c05570d194f5e3da.txt, so the suite runs on a fresh clone.
SEED_PATH = Path(__file__).with_name("seed_000_c05570d194f5e3da.txt")

TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def json_type(value: Any) -> str:
    """The JSON type of a decoded value; booleans are not integers, integers are not floats."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape_diff(
    ours: Any, documented: Any, path: str = "$", *, optional: frozenset[str] = frozenset()
) -> list[str]:
    """Every place where ``ours`` differs from ``documented`` in keys or JSON types.

    Objects must have exactly the documented keys (those named in ``optional``, as dotted paths
    like ``$.error.details``, may be present or absent); each element of an array is compared
    with the documented array's first element, and an empty array where the docs show elements
    is a difference (the scenario is meant to produce some).
    """
    problems: list[str] = []
    if json_type(ours) != json_type(documented):
        return [f"{path}: {json_type(ours)} where the docs have {json_type(documented)}"]
    if isinstance(documented, dict):
        extra = set(ours) - set(documented) - {k for k in ours if f"{path}.{k}" in optional}
        missing = set(documented) - set(ours)
        problems += [f"{path}.{k}: not documented" for k in sorted(extra)]
        problems += [f"{path}.{k}: missing" for k in sorted(missing)]
        for key in sorted(set(ours) & set(documented)):
            problems += shape_diff(ours[key], documented[key], f"{path}.{key}", optional=optional)
    elif isinstance(documented, list) and documented:
        if not ours:
            problems.append(f"{path}: empty where the docs show elements")
        for i, item in enumerate(ours):
            problems += shape_diff(item, documented[0], f"{path}[{i}]", optional=optional)
    return problems


def assert_same_shape(
    ours: Any, documented: Any, *, optional: frozenset[str] = frozenset()
) -> None:
    problems = shape_diff(ours, documented, optional=optional)
    assert not problems, "\n".join(problems)


@dataclass(frozen=True)
class Seed:
    curl: str
    request_body: dict[str, Any]
    reply: dict[str, Any]
    errors: list[dict[str, Any]]


def load_seed() -> Seed:
    """Split the seed into its curl command, request body, success reply and error replies.

    The file repeats the request and reply three times, then lists five error replies; every
    reply is a JSON object whose opening brace stands alone on its line.
    """
    text = SEED_PATH.read_text()
    curl_start = text.index("curl ")
    curl_end = text.index("}'", curl_start) + 2
    curl = text[curl_start:curl_end]
    body_text = curl[curl.index("--data '") + len("--data '") : -1]
    decoder = json.JSONDecoder()
    replies = [
        decoder.raw_decode(text, match.start())[0]
        for match in re.finditer(r"^\{$", text, re.MULTILINE)
    ]
    successes = [r for r in replies if r["success"] is True]
    errors = [r for r in replies if r["success"] is False]
    assert all(s == successes[0] for s in successes), "the seed's repeated replies differ"
    return Seed(curl, json.loads(body_text), successes[0], errors)


def parse_time(value: str) -> datetime:
    assert TIME_RE.fullmatch(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def set_status(app: FastAPI, callout_id: str, status: str) -> None:
    """Move a callout along its life cycle through the service layer (the worker's entry)."""
    runtime = app.state.runtime
    async with runtime.sessionmaker() as session:
        callout = await session.get(Callout, callout_id)
        assert callout is not None, callout_id
        await service.set_status(session, callout, status, runtime.clock.now())
        await session.commit()
