"""``/health`` (liveness) and ``/ready`` (database reachable), outside ``/v1``, no auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from credira.app import create_app
from credira.config import Settings
from tests.support import ADMIN_KEY


@pytest.mark.parametrize("path", ["/health", "/ready"])
async def test_probe_answers_without_auth(client: httpx.AsyncClient, path: str) -> None:
    reply = await client.get(path)

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["success"] is True
    assert body["meta"]["request_id"].startswith("req_")
    assert reply.headers["x-request-id"] == body["meta"]["request_id"]


async def test_ready_reports_the_database(client: httpx.AsyncClient) -> None:
    body = (await client.get("/ready")).json()
    assert body["data"]["status"] == "ready"
    assert body["data"]["database"] == "ok"


async def test_probes_ignore_a_bad_key(client: httpx.AsyncClient) -> None:
    reply = await client.get("/health", headers={"Authorization": "Bearer nope"})
    assert reply.status_code == 200


@pytest.fixture
async def unreachable(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its database on a closed port: the process lives, the database does not."""
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/credira",
        data_dir=tmp_path,
        admin_key=ADMIN_KEY,
        embedded_worker=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_ready_without_database_is_service_unavailable(
    unreachable: httpx.AsyncClient,
) -> None:
    reply = await unreachable.get("/ready")

    assert reply.status_code == 503, reply.text
    body = reply.json()
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["error"]["message"]
    assert body["meta"]["request_id"].startswith("req_")
    assert "Traceback" not in reply.text
    assert "127.0.0.1:1" not in reply.text


async def test_health_stays_up_without_database(unreachable: httpx.AsyncClient) -> None:
    reply = await unreachable.get("/health")
    assert reply.status_code == 200


async def test_api_call_without_database_is_service_unavailable(
    unreachable: httpx.AsyncClient,
) -> None:
    reply = await unreachable.get(
        "/v1/invoices", headers={"Authorization": "Bearer credira_sk_whatever"}
    )

    assert reply.status_code == 503, reply.text
    assert reply.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
