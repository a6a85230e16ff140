"""Helpers for the user tests: documented-shape comparison and users in a given account."""

from __future__ import annotations

import re
from typing import Any

import httpx

from credira.auth.permissions import ALL_PERMISSIONS, DEFAULT_PERMISSIONS
from tests.support import ADMIN_KEY, Api, bearer

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
ADMIN = bearer(ADMIN_KEY)
EVERY_PERMISSION = list(ALL_PERMISSIONS)
DEFAULTS = list(DEFAULT_PERMISSIONS)


def json_type(value: Any) -> str:
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


def _id_like(key: str) -> bool:
    return key in ("id", "api_key") or key.endswith("_id")


def assert_same_shape(ours: Any, documented: Any, path: str = "$") -> None:
    """Same keys at every level, same JSON types; timestamps and id prefixes as documented."""
    assert json_type(ours) == json_type(documented), (
        f"{path}: ours is {json_type(ours)} ({ours!r}), documented {json_type(documented)}"
    )
    if isinstance(documented, dict):
        assert set(ours) == set(documented), (
            f"{path}: extra {sorted(set(ours) - set(documented))}, "
            f"missing {sorted(set(documented) - set(ours))}"
        )
        for key, value in documented.items():
            child = ours[key]
            if isinstance(value, str) and _id_like(key):
                prefix = value.rpartition("_")[0] + "_"
                assert child.startswith(prefix), f"{path}.{key}: {child!r} lacks {prefix!r}"
            assert_same_shape(child, value, f"{path}.{key}")
    elif isinstance(documented, list) and documented:
        assert ours, f"{path}: ours is empty, documented has items"
        for i, item in enumerate(ours):
            assert_same_shape(item, documented[0], f"{path}[{i}]")
    elif isinstance(documented, str) and TIMESTAMP.fullmatch(documented):
        assert TIMESTAMP.fullmatch(ours), f"{path}: {ours!r} is not an ISO 8601 UTC second"


def assert_error(
    response: httpx.Response, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """The documented error envelope, with ``code`` and (when given) the exact message."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code, body
    if message is not None:
        assert body["error"]["message"] == message, body
    assert body["meta"]["request_id"].startswith("req_")
    assert TIMESTAMP.fullmatch(body["meta"]["timestamp"])
    return body


async def create_user(
    api: Api,
    *,
    headers: dict[str, str] | None = None,
    expect: int = 201,
    **fields: Any,
) -> httpx.Response:
    """POST /v1/users (admin key unless ``headers`` says otherwise) with a unique email."""
    n = len(api.counter)
    api.counter.append(1)
    body: dict[str, Any] = {
        "email": f"member{n}@acme.example.com",
        "name": "Jane Roe",
        "company": "Acme Corporation",
        **fields,
    }
    response = await api.client.post("/v1/users", json=body, headers=headers or ADMIN)
    assert response.status_code == expect, response.text
    return response


async def member(api: Api, account_id: str, **fields: Any) -> dict[str, Any]:
    """A user created by the admin in ``account_id``; its data includes ``api_key``."""
    data: dict[str, Any] = (await create_user(api, account_id=account_id, **fields)).json()["data"]
    return data
