"""The embedded worker runs both parts of this feature by itself: an invoice's due plan step
becomes a callout, and a queued CSV import is written (with its progress)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from credira.app import create_app
from credira.kit.clock import FrozenClock
from tests.plan.conftest import START
from tests.support import Api, eventually, worker_app_settings


async def test_the_worker_makes_due_steps_and_runs_imports(
    database_url: str, tmp_path: Path
) -> None:
    clock = FrozenClock(START)
    application = create_app(worker_app_settings(database_url, tmp_path / "data"), clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            tenant = await Api(http).tenant()
            plan = await tenant.created(
                "/v1/collection-plans",
                {"name": "P", "steps": [{"offset_days": -3, "channels": ["email"]}]},
            )
            csv = (
                "number,amount,currency,due_date,customer_name,customer_email,customer_timezone\n"
                "IMP-1,10.00,USD,2026-11-01,Ann,ann@example.com,America/Los_Angeles\n"
                "IMP-2,20.00,USD,2026-11-01,Bob,bob@example.com,America/Los_Angeles\n"
            )
            reply = await tenant.request(
                "POST",
                "/v1/invoices/import",
                content=csv,
                headers={"Content-Type": "text/csv"},
                params={"plan_id": plan["id"]},
            )
            assert reply.status_code == 202, reply.text
            job_id = reply.json()["data"]["id"]

            async def imported() -> dict[str, Any] | None:
                job: dict[str, Any] = (await tenant.ok("GET", f"/v1/invoices/import/{job_id}"))[
                    "data"
                ]
                return job if job["status"] == "succeeded" else None

            job = await eventually(imported, within=20)
            assert job["created_rows"] == 2
            assert "finished_time" in job
            [invoice] = (await tenant.ok("GET", "/v1/invoices", params={"number": "IMP-1"}))["data"]
            assert invoice["plan"]["next_step_time"] == "2026-10-29T17:00:00Z"

            clock.set(START.replace(day=29))  # the step's day, past its time

            async def stepped() -> list[dict[str, Any]]:
                reply = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
                return list(reply["data"])

            [callout] = await eventually(stepped, within=20)
            assert callout["scheduled_time"] == "2026-10-29T17:00:00Z"
            assert callout["metadata"]["plan_id"] == plan["id"]
