"""Seeding in bulk: COPY on PostgreSQL, batched executemany on SQLite.

The rows and the writer are the test suite's own (``tests/factories.py``, the one module the
bench shares with the tests); here is what only the bench needs: its tenant, the history-like
filler and ANALYZE.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import asyncpg
from tests import factories
from tests.factories import CALLOUTS, INVOICES, Batch, converters, fast_id, tuples
from tests.factories import Tenant as Tenant
from tests.factories import callout_row as callout_row
from tests.factories import invoice_row as invoice_row
from tests.factories import zone_in_calling_hours as zone_in_calling_hours

from bench.dbs import Database
from credira.callout.state import CalloutStatus
from credira.config import Settings
from credira.db.engine import create_engine as create_async_engine
from credira.db.engine import create_sessionmaker

BATCH = 20_000
UNCAPPED = {"daily_call_cap": 1_000_000_000, "daily_email_cap": 1_000_000_000}


def settings_for(db: Database, **extra: Any) -> Settings:
    return Settings(database_url=db.url, data_dir=db.data_dir, **extra)


async def _create_tenant(db: Database) -> Tenant:
    engine = create_async_engine(settings_for(db))
    try:
        async with create_sessionmaker(engine)() as session:
            # The daily cost caps are an operator's choice; a benchmark places more calls
            # than the default cap allows in a day.
            return await factories.tenant(session, datetime.now(UTC), settings=UNCAPPED)
    finally:
        await engine.dispose()


def create_tenant(db: Database) -> Tenant:
    """A user (through the service, so its key is real), its account and a simulator agent."""
    return asyncio.run(_create_tenant(db))


def bulk_rows(
    db_kind: str,
    account_id: str,
    agent_id: str,
    callouts: int,
    *,
    per_invoice: int = 10,
    start: int = 0,
) -> Iterator[Batch]:
    """History-like filler, in batches ready for the writers: ``per_invoice`` callouts per
    invoice, 80 % completed, 15 % failed or cancelled, 5 % scheduled a month ahead (never due
    during a run). Rows are copies of a converted template with their own ids and contact
    fields, which is what makes a million rows take seconds instead of minutes."""
    now = datetime.now(UTC)
    later, past = now + timedelta(days=30), now - timedelta(days=3)
    inv_conv, cal_conv = converters(db_kind, INVOICES), converters(db_kind, CALLOUTS)
    inv_at = {c.name: i for i, c in enumerate(INVOICES.columns)}
    cal_at = {c.name: i for i, c in enumerate(CALLOUTS.columns)}
    sample = invoice_row(account_id, 0, "America/New_York", now=now)
    inv_template = tuples(INVOICES, [sample], inv_conv)[0]
    scheduled, failed = CalloutStatus.SCHEDULED, CalloutStatus.FAILED
    cancelled, completed = CalloutStatus.CANCELLED, CalloutStatus.COMPLETED
    templates = {
        status: tuples(
            CALLOUTS,
            [
                callout_row(
                    sample,
                    agent_id,
                    status=status,
                    scheduled=later if status == scheduled else past,
                    now=now,
                )
            ],
            cal_conv,
        )[0]
        for status in (scheduled, failed, cancelled, completed)
    }
    plan = [scheduled, failed, failed, cancelled] + [completed] * 16
    made, n = 0, start
    while made < callouts:
        inv_rows: list[tuple[Any, ...]] = []
        cal_rows: list[tuple[Any, ...]] = []
        while made < callouts and len(cal_rows) < BATCH:
            inv = list(inv_template)
            inv_id = inv[inv_at["id"]] = fast_id("invoice")
            inv[inv_at["number"]] = f"INV-{n:08d}"
            name = inv[inv_at["customer_name"]] = f"Debtor {n}"
            email = inv[inv_at["customer_email"]] = f"debtor{n}@example.com"
            phone = inv[inv_at["customer_phone"]] = f"+1415{n % 100000:05d}00"
            inv_rows.append(tuple(inv))
            n += 1
            for _ in range(min(per_invoice, callouts - made)):
                row = list(templates[plan[made % 20]])
                row[cal_at["id"]] = fast_id("callout")
                row[cal_at["invoice_id"]] = inv_id
                row[cal_at["contact_name"]] = name
                row[cal_at["contact_email"]] = email
                row[cal_at["contact_phone"]] = phone
                cal_rows.append(tuple(row))
                made += 1
        yield [(INVOICES, inv_rows), (CALLOUTS, cal_rows)]


def write(db: Database, batches: Iterable[Batch]) -> None:
    factories.write(db.url, batches)


def write_invoices_callouts(
    db: Database, pairs: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]]
) -> None:
    """Write rows given as dicts (invoices first: the callouts refer to them)."""
    write(db, factories.invoice_callout_batches(db.url, pairs))


def seed_bulk(db: Database, tenant: Tenant, callouts: int, *, start: int) -> float:
    """Add ``callouts`` history rows; returns the seconds it took (ANALYZE included on PG)."""
    began = time.perf_counter()
    write(db, bulk_rows(db.kind, tenant.account_id, tenant.agent_id, callouts, start=start))
    analyze(db)
    return time.perf_counter() - began


def analyze(db: Database) -> None:
    """PostgreSQL's autovacuum would analyze after a bulk load; do it now so that plans are
    the steady-state ones. SQLite is left as Credira leaves it (no ANALYZE)."""
    if db.kind != "postgresql":
        return

    async def run() -> None:
        conn = await asyncpg.connect(db.plain_url)
        try:
            await conn.execute("ANALYZE invoices; ANALYZE callouts")
        finally:
            await conn.close()

    asyncio.run(run())


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
