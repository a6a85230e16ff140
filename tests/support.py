"""A thin client for tests: create accounts, users and objects through the public API."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from credira.config import Settings
from tests.factories import ZONES as ZONES
from tests.factories import zone_at_night as zone_at_night
from tests.factories import zone_in_calling_hours as zone_in_calling_hours

ADMIN_KEY = "test-admin-key-0123456789abcdef"


async def eventually(check: Any, *, within: float = 10.0, interval: float = 0.05) -> Any:
    """Await ``check()`` until it returns a truthy value, or fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s; last value: {last!r}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Tenant:
    """One account with one user holding every default permission."""

    api: Api
    key: str
    user_id: str
    account_id: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.api.client.request(method, path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.request(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        assert body["success"] is True
        return body

    async def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path``: the object made."""
        data: dict[str, Any] = (await self.ok("POST", path, json=body))["data"]
        return data

    async def invoice(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "number": f"INV-{len(self.api.counter)}",
            "amount": "1250.00",
            "currency": "USD",
            "due_date": "2024-01-30",
            "customer": {
                "name": "John Doe",
                "email": "john.doe@example.com",
                "phone": "+14155550100",
                "timezone": "America/New_York",
            },
        }
        self.api.counter.append(1)
        body.update(overrides)
        return await self.created("/v1/invoices", body)

    async def agent(self, **overrides: Any) -> dict[str, Any]:
        return await self.created("/v1/voice-agents", {"name": "Ava", **overrides})

    async def callout(self, invoice_id: str, agent_id: str, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "invoice_id": invoice_id,
            "scheduled_time": "2030-01-20T10:00:00Z",
            "priority": "high",
            "actions": {"calls_enabled": True, "emails_enabled": False, "voice_agent_id": agent_id},
            "metadata": {"campaign_id": "camp_123", "department": "billing"},
        }
        body.update(overrides)
        return await self.created("/v1/callouts", body)

    async def scenario(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """An invoice, an agent and a scheduled callout for them."""
        invoice = await self.invoice()
        agent = await self.agent()
        callout = await self.callout(invoice["id"], agent["id"])
        return invoice, agent, callout


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.counter: list[int] = []

    async def tenant(self, company: str = "Acme Corporation", **extra: Any) -> Tenant:
        n = len(self.counter)
        self.counter.append(1)
        body = {
            "email": f"user{n}@acme.example.com",
            "name": "John Doe",
            "company": company,
            **extra,
        }
        response = await self.client.post("/v1/users", json=body, headers=bearer(ADMIN_KEY))
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        return Tenant(self, data["api_key"], data["id"], data["account_id"])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_app_settings(database_url: str, data_dir: Path) -> Settings:
    """An app with its embedded worker and a fast simulator, for tests whose objects must
    really move (the worker tests, the event tests)."""
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=True,
        worker_poll_seconds=0.05,
        simulator_time_scale=0.2,
    )
