"""End-to-end email tests: the app with its embedded worker sends through ``CREDIRA_SMTP_URL`` to
a real SMTP server (aiosmtpd) running in the test, and the tests read what it received.

One SMTP server per test module, and the root conftest's one app and database per test module and
backend (``shared_app``), here with its worker on; every case works in an account of its own and
mails addresses of its own, so cases never see each other's messages. Modules here declare
``pytestmark = pytest.mark.asyncio(loop_scope="module")`` and use ``app``, ``client`` and ``api``,
which stand for the shared ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.channel.smtpd import SmtpServer
from tests.email_e2e.helpers import Mail
from tests.support import Api


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def shared_overrides(smtp_server: SmtpServer) -> dict[str, Any]:
    return {
        "smtp_url": f"{smtp_server.url}?starttls=false&timeout=5",
        "embedded_worker": True,
        "worker_poll_seconds": 0.05,
        "worker_grace_seconds": 1.0,
        "simulator_time_scale": 0.2,
    }


@pytest.fixture
def app(shared_app: FastAPI) -> FastAPI:
    return shared_app


@pytest.fixture
def client(shared_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_client


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api


@pytest.fixture
def mail(app: FastAPI, smtp_server: SmtpServer) -> Iterator[Mail]:
    # A refusal scripted by a case must not leak into the next one.
    smtp_server.handler.replies.clear()
    yield Mail(app, smtp_server)
    smtp_server.handler.replies.clear()
