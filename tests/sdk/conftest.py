"""SDK tests talk to a real server over a socket: the app under uvicorn in a thread of the
test process, on a free port of 127.0.0.1, with its embedded worker (so callouts really run),
one server per test module and backend. Each test works in accounts of its own."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from credira.app import create_app
from credira.config import Settings
from credira_sdk import Client
from tests.conftest import _truncate_all
from tests.support import ADMIN_KEY, free_port

_emails = itertools.count()


@contextmanager
def serve_in_thread(app: FastAPI, *, within: float = 20.0) -> Iterator[str]:
    """``app`` served by uvicorn in a thread; its base URL until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + within
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    # The callouts the SDK schedules really run: an embedded worker and a fast simulator.
    return {
        "embedded_worker": True,
        "worker_poll_seconds": 0.05,
        "simulator_time_scale": 0.2,
        "log_level": "warning",
        "worker_grace_seconds": 1.0,  # the module's server stops at once
        # The README example's receiver listens on 127.0.0.1.
        "webhook_allow_networks": "127.0.0.0/8",
    }


@pytest.fixture(scope="module")
def base_url(shared_settings: Settings) -> Iterator[str]:
    if not shared_settings.is_sqlite:
        asyncio.run(_truncate_all(shared_settings.resolved_database_url))
    with serve_in_thread(create_app(shared_settings)) as url:
        yield url


def new_key(base_url: str, **extra: Any) -> str:
    """The key of a new user in a new account, made through the SDK with the admin key."""
    with Client(ADMIN_KEY, base_url=base_url) as admin:
        user = admin.users.create(
            email=f"sdk{next(_emails)}@acme.example.com", name="Ops", company="Acme", **extra
        )
    key = user["api_key"]
    assert key is not None
    return key


@pytest.fixture
def api_key(base_url: str) -> str:
    return new_key(base_url)
