"""Importing invoices from CSV, over the API (a job a worker runs) and from the command line:
everything checked first, bad rows named by line, column and reason, idempotent on the
invoice number."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from credira.config import Settings
from credira.invoice.import_cli import ImportRefused, run_import
from credira.invoice.importer import ImportJobs
from tests.plan.conftest import Plans

HEADER = (
    "number,amount,currency,due_date,customer_name,customer_email,customer_phone,"
    "customer_timezone,metadata.region\n"
)


def rows(count: int, *, start: int = 1, amount: str = "100.00") -> str:
    return "".join(
        f"INV-{n:05d},{amount},USD,2026-11-01,Customer {n},c{n}@example.com,"
        f"+1415555{n % 10000:04d},America/Los_Angeles,west\n"
        for n in range(start, start + count)
    )


async def _run_jobs(plans: Plans) -> None:
    runtime_sessions = plans.steps.sessionmaker
    jobs = ImportJobs(runtime_sessions, plans.clock, "test-worker")
    while await jobs.run_due():
        pass


async def _import(plans: Plans, text: str, **params: str) -> dict[str, object]:
    reply = await plans.tenant.request(
        "POST",
        "/v1/invoices/import",
        content=text.encode(),
        headers={"Content-Type": "text/csv"},
        params=params,
    )
    assert reply.status_code == 202, reply.text
    job: dict[str, object] = reply.json()["data"]
    await _run_jobs(plans)
    done = await plans.tenant.ok("GET", f"/v1/invoices/import/{job['id']}")
    result: dict[str, object] = done["data"]
    return result


async def test_api_import_is_idempotent_and_attaches_the_plan(plans: Plans) -> None:
    plan = await plans.plan()
    text = HEADER + rows(5)
    job = await _import(plans, text, plan_id=plan["id"])
    assert job["status"] == "succeeded"
    assert (job["created_rows"], job["updated_rows"], job["unchanged_rows"]) == (5, 0, 0)
    listed = await plans.tenant.ok("GET", "/v1/invoices", params={"number": "INV-00003"})
    [invoice] = listed["data"]
    assert invoice["plan_id"] == plan["id"]
    assert invoice["plan"]["next_step_time"] == "2026-10-29T17:00:00Z"
    assert invoice["metadata"] == {"region": "west"}
    assert invoice["customer"]["timezone"] == "America/Los_Angeles"

    again = await _import(plans, text, plan_id=plan["id"])
    assert (again["created_rows"], again["updated_rows"], again["unchanged_rows"]) == (0, 0, 5)

    changed = HEADER + rows(4) + rows(1, start=5, amount="250.00")
    third = await _import(plans, changed, plan_id=plan["id"])
    assert (third["created_rows"], third["updated_rows"], third["unchanged_rows"]) == (0, 1, 4)
    total = await plans.tenant.ok("GET", "/v1/invoices")
    assert total["meta"]["total_invoices"] == 5


async def test_api_import_with_a_bad_row_imports_nothing(plans: Plans) -> None:
    text = HEADER + rows(2) + "INV-BAD,12.345,USD,2026-11-01,Bad,,,,\n" + rows(2, start=3)
    reply = await plans.tenant.request(
        "POST",
        "/v1/invoices/import",
        content=text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == "amount"
    assert "line 4, column amount: USD amounts have at most 2 decimals" in error["details"]
    assert "nothing was imported" in error["message"]
    await _run_jobs(plans)
    total = await plans.tenant.ok("GET", "/v1/invoices")
    assert total["meta"]["total_invoices"] == 0


async def test_cli_import_refuses_a_file_with_a_bad_row(
    plans: Plans, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "invoices.csv"
    bad = "INV-X,100.00,USD,2026-13-01,Bad Date,,,,\n"
    path.write_text(HEADER + rows(3) + bad + rows(3, start=4))
    out = io.StringIO()
    console = Console(file=out, width=200)
    with pytest.raises(ImportRefused, match="1 bad row"):
        await run_import(
            settings,
            path,
            plan_id=None,
            skip_invalid=False,
            account_id=plans.tenant.account_id,
            console=console,
        )
    output = out.getvalue()
    assert "line 5, column due_date:" in output
    total = await plans.tenant.ok("GET", "/v1/invoices")
    assert total["meta"]["total_invoices"] == 0

    console = Console(file=io.StringIO(), width=200)
    counts = await run_import(
        settings,
        path,
        plan_id=None,
        skip_invalid=True,
        account_id=plans.tenant.account_id,
        console=console,
    )
    assert counts.created == 6
    rejected = (tmp_path / "invoices.rejected.csv").read_text()
    assert "INV-X" in rejected
    assert "line 5: due_date:" in rejected


async def test_cli_import_prints_a_summary_and_a_second_run_creates_nothing(
    plans: Plans, settings: Settings, tmp_path: Path
) -> None:
    plan = await plans.plan()
    path = tmp_path / "invoices.csv"
    path.write_text(HEADER + rows(4))

    async def imported() -> tuple[str, tuple[int, int, int]]:
        out = io.StringIO()
        counts = await run_import(
            settings,
            path,
            plan_id=plan["id"],
            skip_invalid=False,
            account_id=plans.tenant.account_id,
            console=Console(file=out, width=200),
        )
        return out.getvalue(), (counts.created, counts.updated, counts.unchanged)

    first, counted = await imported()
    assert counted == (4, 0, 0)
    assert "4 row(s) in" in first
    assert "4 created, 0 updated, 0 unchanged" in first
    listed = await plans.tenant.ok("GET", "/v1/invoices", params={"number": "INV-00002"})
    assert listed["data"][0]["plan_id"] == plan["id"]

    second, counted = await imported()
    assert counted == (0, 0, 4)
    assert "0 created, 0 updated, 4 unchanged" in second
    total = await plans.tenant.ok("GET", "/v1/invoices")
    assert total["meta"]["total_invoices"] == 4
