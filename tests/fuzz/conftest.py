"""Fixtures for the fuzz tests.

schemathesis calls the app synchronously, from a portal thread that runs the app's lifespan on
an event loop of its own; so the schemathesis app is built and started outside pytest-asyncio's
loop, and its database engine lives on that portal loop for the whole module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from schemathesis.python import asgi
from starlette.types import ASGIApp, Receive, Scope, Send

from credira.app import create_app
from credira.config import Settings
from credira.kit.clock import FrozenClock
from tests.support import ADMIN_KEY, bearer


class AppSlot:
    """The ASGI app schemathesis is handed when a test module is imported, before any fixture
    has run: it forwards everything, the lifespan included, to the app ``fuzz_app`` installs."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "use the fuzz_app fixture before sending requests"
        await self.app(scope, receive, send)


APP_SLOT = AppSlot()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[FastAPI]:
    """The app on a migrated SQLite copy, its lifespan running in schemathesis' portal."""
    root = tmp_path_factory.mktemp("fuzz")
    database = root / "credira.db"
    shutil.copyfile(sqlite_template, database)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        data_dir=root / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=False,
        # Rate limits are proven in tests/ratelimit; here they would turn the fuzzer's burst of
        # requests into 429s and hide every other answer behind them.
        rate_limit_per_key="",
        rate_limit_per_account="",
        rate_limit_create_call="",
    )
    # A clock that stands still: the key is stamped by its first request (a read, below) and
    # never again, which keeps the fuzzer clear of test_first_write_with_a_new_key_is_prompt...
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    APP_SLOT.app = create_app(settings, clock=clock)
    try:
        yield APP_SLOT.app
    finally:
        # Stops the lifespan schemathesis started on first use, which disposes of the engine.
        asgi.shutdown_lifespans()
        APP_SLOT.app = None


@dataclass(frozen=True)
class FuzzTenant:
    """A real account: the key the fuzzer sends, and one object of each kind it may aim at."""

    key: str
    ids: dict[str, str]  # request field or parameter name -> id of an existing object


def _created(http: requests.Session, path: str, key: str, body: dict[str, Any]) -> str:
    reply = http.post(path, json=body, headers=bearer(key))
    assert reply.status_code == 201, reply.text
    object_id: str = reply.json()["data"]["id"]
    return object_id


@pytest.fixture(scope="module")
def fuzz_tenant(fuzz_app: FastAPI) -> FuzzTenant:
    """A fresh account made through the API (the admin key for its users), with an invoice, a
    voice agent, a callout, an email template, a call and an email in it."""
    with asgi.get_client(APP_SLOT) as http:
        reply = http.post(
            "/v1/users",
            json={"email": "fuzz@acme.example.com", "name": "Fuzz", "company": "Acme"},
            headers=bearer(ADMIN_KEY),
        )
        assert reply.status_code == 201, reply.text
        user = reply.json()["data"]
        key: str = user["api_key"]
        assert http.get("/v1/voice-agents", headers=bearer(key)).status_code == 200
        # The fuzzer's user_id: another user of the account, so that deleting it or rotating
        # its key does not take away the key every other request is sent with.
        colleague = _created(
            http,
            "/v1/users",
            ADMIN_KEY,
            {
                "email": "colleague@acme.example.com",
                "name": "Colleague",
                "company": "Acme",
                "account_id": user["account_id"],
            },
        )
        invoice = _created(
            http,
            "/v1/invoices",
            key,
            {
                "number": "INV-FUZZ",
                "amount": "1250.00",
                "currency": "USD",
                "due_date": "2024-01-30",
                "customer": {
                    "name": "John Doe",
                    "email": "john.doe@example.com",
                    "phone": "+14155550100",
                },
            },
        )
        agent = _created(http, "/v1/voice-agents", key, {"name": "Ava"})
        callout = _created(
            http,
            "/v1/callouts",
            key,
            {
                "invoice_id": invoice,
                "scheduled_time": "2030-01-20T10:00:00Z",
                "actions": {"calls_enabled": True, "emails_enabled": True, "voice_agent_id": agent},
            },
        )
        template = _created(
            http,
            "/v1/email-templates",
            key,
            # No placeholders: whether an email can be rendered depends on the template a
            # request names, which no schema of the request can say.
            {
                "name": "Reminder",
                "subject": "Your invoice",
                "html_content": "<p>Please pay your invoice.</p>",
                "text_content": "Please pay your invoice.",
                "category": "payment_reminder",
            },
        )
        call = _created(
            http,
            "/v1/calls",
            key,
            {
                "phone_number": "+14155550100",
                "invoice_id": invoice,
                "voice_agent_id": agent,
                "scheduled_time": "2030-01-20T10:00:00Z",
            },
        )
        email = _created(
            http,
            "/v1/send-email",
            key,
            {
                "template_id": template,
                "recipient_email": "john.doe@example.com",
                "callout_id": callout,
                "scheduled_time": "2030-01-20T10:00:00Z",
            },
        )
        plan = _created(
            http,
            "/v1/collection-plans",
            key,
            {"name": "Cadence", "steps": [{"offset_days": 1, "channels": ["email"]}]},
        )
    return FuzzTenant(
        key=key,
        ids={
            "user_id": colleague,
            "account_id": user["account_id"],
            "invoice_id": invoice,
            "agent_id": agent,
            "voice_agent_id": agent,
            "callout_id": callout,
            "template_id": template,
            "call_id": call,
            "email_id": email,
            "plan_id": plan,
        },
    )
