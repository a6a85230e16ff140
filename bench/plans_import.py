"""What importing invoices costs: ``credira import invoices`` of a CSV of ``--rows`` invoices
(50,000 by default) with a four-step collection plan attached to each, on each database, in
rows per second; the same file again (every row unchanged: nothing written); and a file with
one bad row in the middle (nothing written, the row named).

The floor is the same rows written with one ``INSERT`` of many rows per 1,000 through the
same engine (no checks, no events, no plan): what a careful engineer's bulk load costs. Ours
also checks every row as the API does, writes each invoice's ``invoice.created`` and
``invoice.plan_started`` events, and computes each invoice's plan schedule.

    python -m bench.plans_import [--db sqlite|postgresql|both] [--rows 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, insert, select

from bench import seed
from bench.dbs import Database, fresh_database, postgres_available
from credira.auth.principal import Principal
from credira.db.engine import create_engine, create_sessionmaker
from credira.invoice.import_cli import ImportRefused, run_import
from credira.kit.ids import new_id
from credira.models import Invoice
from credira.plan import service as plan_service
from credira.plan.schemas import CollectionPlanCreate

HEADER = (
    "number,amount,currency,due_date,customer_name,customer_email,customer_phone,"
    "customer_timezone,metadata.region\n"
)
ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Asia/Tokyo")


def write_csv(path: Path, rows: int, *, prefix: str = "INV", bad_at: int | None = None) -> None:
    due = date(2030, 6, 1)
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(rows):
            amount = "12.345" if n == bad_at else f"{100 + n % 900}.00"
            out.write(
                f"{prefix}-{n:07d},{amount},USD,{due + timedelta(days=n % 60)},Customer {n},"
                f"c{n}@example.com,+1415555{n % 10000:04d},{ZONES[n % len(ZONES)]},r{n % 7}\n"
            )


async def _plan(db: Database, account_id: str, agent_id: str) -> str:
    engine = create_engine(seed.settings_for(db))
    try:
        async with create_sessionmaker(engine)() as session:
            principal = Principal(account_id, None, frozenset(), is_admin=True)
            body = CollectionPlanCreate.model_validate(
                {
                    "name": "Bench cadence",
                    "steps": [
                        {"offset_days": -3, "channels": ["email"]},
                        {"offset_days": 1, "channels": ["call"], "voice_agent_id": agent_id},
                        {
                            "offset_days": 7,
                            "channels": ["call", "email"],
                            "voice_agent_id": agent_id,
                        },
                        {"offset_days": 14, "channels": ["call"], "voice_agent_id": agent_id},
                    ],
                    "skip_weekends": True,
                    "skip_holidays": True,
                }
            )
            plan = await plan_service.create(
                session, principal, account_id, body, datetime.now(UTC)
            )
            await session.commit()
            return plan.id
    finally:
        await engine.dispose()


async def _floor(db: Database, account_id: str, rows: int) -> float:
    """The same rows with one multi-row INSERT per 1,000: seconds."""
    engine = create_engine(seed.settings_for(db))
    sessions = create_sessionmaker(engine)
    now = datetime.now(UTC)
    due = date(2030, 6, 1)
    started = time.perf_counter()
    try:
        for offset in range(0, rows, 1000):
            batch = [
                {
                    "id": new_id("invoice"),
                    "account_id": account_id,
                    "number": f"FLOOR-{n:07d}",
                    "amount": Decimal(100 + n % 900),
                    "currency": "USD",
                    "due_date": due + timedelta(days=n % 60),
                    "status": "open",
                    "customer_name": f"Customer {n}",
                    "customer_email": f"c{n}@example.com",
                    "customer_phone": f"+1415555{n % 10000:04d}",
                    "customer_timezone": ZONES[n % len(ZONES)],
                    "metadata_": {"region": f"r{n % 7}"},
                    "version": 1,
                    "created_time": now,
                    "updated_time": now,
                }
                for n in range(offset, min(rows, offset + 1000))
            ]
            async with sessions() as session:
                await session.execute(insert(Invoice), batch)
                await session.commit()
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def _count(db: Database, prefix: str) -> int:
    engine = create_engine(seed.settings_for(db))
    try:
        async with create_sessionmaker(engine)() as session:
            found = await session.scalar(
                select(func.count()).select_from(Invoice).where(Invoice.number.like(f"{prefix}-%"))
            )
            return int(found or 0)
    finally:
        await engine.dispose()


def _import(db: Database, path: Path, plan_id: str | None, account_id: str) -> dict[str, Any]:
    console = Console(file=io.StringIO(), width=160)
    started = time.perf_counter()
    try:
        counts = asyncio.run(
            run_import(
                seed.settings_for(db),
                path,
                plan_id=plan_id,
                skip_invalid=False,
                account_id=account_id,
                console=console,
            )
        )
    except ImportRefused as exc:
        return {"refused": str(exc), "seconds": round(time.perf_counter() - started, 2)}
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
    }


def measure(kind: str, rows: int) -> dict[str, Any]:
    with fresh_database(kind, "plans_import") as db, tempfile.TemporaryDirectory() as folder:
        tenant = seed.create_tenant(db)
        plan_id = asyncio.run(_plan(db, tenant.account_id, tenant.agent_id))
        good, bad = Path(folder) / "invoices.csv", Path(folder) / "bad.csv"
        write_csv(good, rows)
        write_csv(bad, rows, prefix="BAD", bad_at=rows // 2)
        first = _import(db, good, plan_id, tenant.account_id)
        again = _import(db, good, plan_id, tenant.account_id)
        refused = _import(db, bad, plan_id, tenant.account_id)
        floor = asyncio.run(_floor(db, tenant.account_id, rows))
        return {
            "db": kind,
            "rows": rows,
            "import": first,
            "rows_per_second": round(rows / first["seconds"]),
            "again": again,
            "again_rows_per_second": round(rows / again["seconds"]),
            "bad_file": {**refused, "written": asyncio.run(_count(db, "BAD"))},
            "floor_seconds": round(floor, 2),
            "floor_rows_per_second": round(rows / floor),
            "under_60_s": first["seconds"] < 60,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and (why := postgres_available()) is not None:
            print(json.dumps({"db": kind, "skipped": why}))
            continue
        print(json.dumps(measure(kind, args.rows)), flush=True)


if __name__ == "__main__":
    main()
