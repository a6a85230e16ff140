"""The session cookie as configured by default: Secure, host-only (``__Host-``), HttpOnly,
SameSite=Lax; over plain http the sign-in page says what to set."""

from __future__ import annotations

import httpx

from tests.dashboard.conftest import form_token
from tests.support import Api


async def test_default_cookie_is_secure_host_only_and_http_only(
    api: Api, client: httpx.AsyncClient
) -> None:
    tenant = await api.tenant()
    page = await client.get("/dashboard/sign-in")
    assert "CREDIRA_DASHBOARD_COOKIE_SECURE=false" in page.text
    nonce = form_token(page.text)
    # The sign-in form's own cookie is Secure too: the test hands it back as HTTPS would.
    client.cookies.set("credira_sign_in", nonce, path="/dashboard/sign-in")
    reply = await client.post(
        "/dashboard/sign-in", data={"csrf_token": nonce, "api_key": tenant.key}
    )
    assert reply.status_code == 303
    cookie = next(
        c for c in reply.headers.get_list("set-cookie") if c.startswith("__Host-credira_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)
    # A client on plain http keeps a Secure cookie to itself: it is not signed in here.
    assert (await client.get("/dashboard")).status_code == 303
