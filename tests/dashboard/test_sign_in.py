"""Signing in and out of the dashboard, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.conftest import form_token, sign_in
from tests.support import Api


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Any:
    from tests.conftest import _test_settings

    return _test_settings(database_url, tmp_path, dashboard_cookie_secure=False)


async def test_sign_in_shows_the_overview_and_sign_out_ends_the_session(
    api: Api, client: httpx.AsyncClient
) -> None:
    tenant = await api.tenant()
    csrf = await sign_in(client, tenant.key)
    page = await client.get("/dashboard")
    assert "Today&#39;s callouts" in page.text or "Today's callouts" in page.text
    out = await client.post("/dashboard/sign-out", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert (await client.get("/dashboard")).headers["location"] == "/dashboard/sign-in"
