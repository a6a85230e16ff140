"""Plan tests drive the API on a frozen clock and run the worker's plan step by hand
(``PlanSteps.run_due``), moving the clock instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from credira.app import create_app
from credira.config import Settings
from credira.kit.clock import FrozenClock
from credira.plan.tasks import PlanSteps
from tests.support import Api, Tenant

# A Thursday, ten days before a Sunday due date on which US daylight-saving time ends.
START = datetime(2026, 10, 22, 17, 0, tzinfo=UTC)


@dataclass
class Plans:
    """The app on a frozen clock, one tenant with a voice agent, and the worker's plan step."""

    api: Api
    tenant: Tenant
    agent_id: str
    clock: FrozenClock
    steps: PlanSteps

    async def at(self, when: datetime) -> int:
        """Move the clock to ``when`` and run every due plan step."""
        self.clock.set(when)
        total = 0
        while looked := await self.steps.run_due():
            total += looked
        return total

    async def callouts(self, invoice_id: str) -> list[dict[str, Any]]:
        reply = await self.tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice_id})
        return list(reply["data"])

    async def plan(self, **overrides: Any) -> dict[str, Any]:
        return await self.tenant.created("/v1/collection-plans", self.body(**overrides))

    def body(self, **overrides: Any) -> dict[str, Any]:
        agent = self.agent_id
        body: dict[str, Any] = {
            "name": "Standard cadence",
            "steps": [
                {"offset_days": -3, "time": "10:00", "channels": ["email"]},
                {"offset_days": 1, "time": "10:00", "channels": ["call"], "voice_agent_id": agent},
                {
                    "offset_days": 7,
                    "time": "10:00",
                    "channels": ["call", "email"],
                    "voice_agent_id": agent,
                },
                {
                    "offset_days": 14,
                    "time": "10:00",
                    "channels": ["call"],
                    "voice_agent_id": agent,
                    "priority": "high",
                },
            ],
            "skip_weekends": True,
            "skip_holidays": True,
            "metadata": {"campaign_id": "camp_fall"},
        }
        body.update(overrides)
        return body

    async def invoice(self, plan_id: str | None, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "due_date": "2026-11-01",
            "customer": {
                "name": "Jane Roe",
                "email": "jane@example.com",
                "phone": "+14155550142",
                "timezone": "America/Los_Angeles",
            },
            **overrides,
        }
        if plan_id is not None:
            body["plan_id"] = plan_id
        return await self.tenant.invoice(**body)


@pytest.fixture
async def plans(settings: Settings) -> AsyncIterator[Plans]:
    clock = FrozenClock(START)
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            api = Api(http)
            tenant = await api.tenant()
            agent = await tenant.agent()
            runtime = application.state.runtime
            yield Plans(api, tenant, agent["id"], clock, PlanSteps(runtime.sessionmaker, clock))
