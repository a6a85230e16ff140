"""Signing in to the dashboard from a test client: the sign-in form's token read from the
page, the session cookie kept by the client."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_KEY, bearer

FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    found = FORM_TOKEN.search(html)
    assert found is not None, html[:2000]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign ``client`` in with ``key``; the CSRF token of the session's forms."""
    page = await client.get("/dashboard/sign-in")
    assert page.status_code == 200
    reply = await client.post(
        "/dashboard/sign-in", data={"csrf_token": form_token(page.text), "api_key": key}
    )
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == "/dashboard"
    overview = await client.get("/dashboard")
    assert overview.status_code == 200, overview.text
    return form_token(overview.text)


async def add_user(client: httpx.AsyncClient, account_id: str, permissions: list[str]) -> str:
    """A new user of the account holding only ``permissions``; its API key."""
    body = {
        "email": f"user-{secrets.token_hex(6)}@acme.example.com",
        "name": "Lim Ited",
        "company": "Owner Ltd",
        "account_id": account_id,
        "permissions": permissions,
    }
    reply = await client.post("/v1/users", json=body, headers=bearer(ADMIN_KEY))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["data"]["api_key"])


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    # The test client speaks plain http: a Secure cookie would not be sent back.
    return {"dashboard_cookie_secure": False}
