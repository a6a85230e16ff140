"""Helpers for the user tests: documented-shape comparison and users in a given account."""

from __future__ import annotations

from typing import Any

import httpx

from credira.auth.permissions import ALL_PERMISSIONS, DEFAULT_PERMISSIONS
from tests import shapes
from tests.shapes import TIMESTAMP
from tests.support import ADMIN_KEY, Api, bearer

ADMIN = bearer(ADMIN_KEY)
EVERY_PERMISSION = list(ALL_PERMISSIONS)
DEFAULTS = list(DEFAULT_PERMISSIONS)


def assert_same_shape(ours: Any, documented: Any) -> None:
    """Same keys at every level, same JSON types; timestamps and id prefixes as documented."""
    shapes.assert_same_shape(ours, documented, formats=True)


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
