"""Seeding in bulk: COPY on PostgreSQL, batched executemany on SQLite.

Rows are built as plain dicts keyed by column name with Python values (aware datetimes, Decimal
amounts, dicts for JSON); each writer converts them the way the column types would.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

import asyncpg
import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from tests.support import zone_in_calling_hours as zone_in_calling_hours

from bench.dbs import Database
from credira.auth.principal import Principal
from credira.config import Settings
from credira.db.engine import create_engine as create_async_engine
from credira.db.engine import create_sessionmaker
from credira.db.types import MONEY_SCALE, Money
from credira.kit.ids import PREFIXES, new_id
from credira.models import Account, Callout, Invoice, VoiceAgent
from credira.user import service as user_service
from credira.user.schemas import UserCreate

BATCH = 20_000
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz")


_random: list[str] = []
_stamp: list[Any] = [0, ""]


def fast_id(kind: str) -> str:
    """An id of the same form as ``credira.kit.ids.new_id`` (prefix, 10 characters of
    milliseconds, 16 random ones), made many times faster for bulk loads: the time part is
    encoded once per millisecond and the random parts in blocks (10 random bytes are exactly 16
    base32 characters)."""
    if not _random:
        block = base64.b32encode(os.urandom(10 * 4096)).decode().translate(_CROCKFORD)
        _random.extend(block[i : i + 16] for i in range(0, len(block), 16))
    millis = time.time_ns() // 1_000_000
    if millis != _stamp[0]:
        _stamp[0], _stamp[1] = millis, new_id(kind)[-26:-16]
    return PREFIXES[kind] + _stamp[1] + _random.pop()


UNCAPPED = {"daily_call_cap": 1_000_000_000, "daily_email_cap": 1_000_000_000}


@dataclass(frozen=True)
class Tenant:
    account_id: str
    user_id: str
    key: str
    agent_id: str


def settings_for(db: Database, **extra: Any) -> Settings:
    return Settings(database_url=db.url, data_dir=db.data_dir, **extra)


async def _create_tenant(db: Database) -> Tenant:
    engine = create_async_engine(settings_for(db))
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine)() as session:
            admin = Principal(None, None, frozenset(), is_admin=True)
            body = UserCreate(email="bench@load.example", name="Bench", company="Load Co")
            user, key = await user_service.create_user(session, admin, body, now)
            # The daily cost caps are an operator's choice; a benchmark places more calls
            # than the default cap allows in a day.
            account = await session.get(Account, user.account_id)
            assert account is not None
            account.settings = {**(account.settings or {}), **UNCAPPED}
            agent = VoiceAgent(
                id=new_id("agent"),
                account_id=user.account_id,
                name="Ava",
                provider="simulator",
                voice="default",
                language="en-US",
                from_number=None,
                script="Hello {{customer_name}}, about invoice {{invoice_number}}.",
                max_duration=600,
                status="active",
                metadata_={},
                created_time=now,
                updated_time=now,
            )
            session.add(agent)
            await session.commit()
            return Tenant(user.account_id, user.id, key, agent.id)
    finally:
        await engine.dispose()


def create_tenant(db: Database) -> Tenant:
    """A user (through the service, so its key is real), its account and a simulator agent."""
    return asyncio.run(_create_tenant(db))


def invoice_row(
    account_id: str, n: int, zone: str, digits: str = "00", now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "id": fast_id("invoice"),
        "account_id": account_id,
        "number": f"INV-{n:08d}",
        "amount": Decimal("100.00"),
        "currency": "USD",
        "due_date": date(2024, 1, 30),
        "status": "open",
        "status_reason": None,
        "customer_name": f"Debtor {n}",
        "customer_email": f"debtor{n}@example.com",
        "customer_phone": f"+1415{n % 100000:05d}{digits}",
        "customer_timezone": zone,
        "payment_url": None,
        "promised_date": None,
        "metadata": {},
        "created_by": None,
        "version": 1,
        "created_time": now,
        "updated_time": now,
    }


def callout_row(
    invoice: dict[str, Any],
    agent_id: str,
    *,
    status: str,
    scheduled: datetime,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    finished = status in ("completed", "failed", "cancelled")
    return {
        "id": fast_id("callout"),
        "account_id": invoice["account_id"],
        "invoice_id": invoice["id"],
        "status": status,
        "type": "payment_reminder",
        "priority": "medium",
        "priority_rank": 2,
        "scheduled_time": scheduled,
        "contact_name": invoice["customer_name"],
        "contact_email": invoice["customer_email"],
        "contact_phone": invoice["customer_phone"],
        "calls_enabled": True,
        "emails_enabled": False,
        "voice_agent_id": agent_id,
        "metadata": {},
        "status_reason": "bench" if status in ("failed", "cancelled") else None,
        "run_at": scheduled,
        "hold_reason": None,
        "lease_owner": None,
        "lease_expires": None,
        "attempt_count": 1 if finished else 0,
        "origin": "api",
        "consented": False,
        "template_id": None,
        "email_done": False,
        "completed_time": scheduled if finished else None,
        "created_by": None,
        "version": 1,
        "created_time": now,
        "updated_time": now,
    }


def bulk_rows(
    db_kind: str,
    account_id: str,
    agent_id: str,
    callouts: int,
    *,
    per_invoice: int = 10,
    start: int = 0,
) -> Iterator[list[tuple[Table, list[tuple[Any, ...]]]]]:
    """History-like filler, in batches ready for the writers: ``per_invoice`` callouts per
    invoice, 80 % completed, 15 % failed or cancelled, 5 % scheduled a month ahead (never due
    during a run). Rows are copies of a converted template with their own ids and contact
    fields, which is what makes a million rows take seconds instead of minutes."""
    invoices, calls = Invoice.__table__, Callout.__table__
    now = datetime.now(UTC)
    later, past = now + timedelta(days=30), now - timedelta(days=3)
    inv_conv, cal_conv = converters(db_kind, invoices), converters(db_kind, calls)
    inv_at = {c.name: i for i, c in enumerate(invoices.columns)}
    cal_at = {c.name: i for i, c in enumerate(calls.columns)}
    sample = invoice_row(account_id, 0, "America/New_York", now=now)
    inv_template = _tuples(invoices, [sample], inv_conv)[0]
    templates = {
        status: _tuples(
            calls,
            [
                callout_row(
                    sample,
                    agent_id,
                    status=status,
                    scheduled=later if status == "scheduled" else past,
                    now=now,
                )
            ],
            cal_conv,
        )[0]
        for status in ("scheduled", "failed", "cancelled", "completed")
    }
    plan = ["scheduled", "failed", "failed", "cancelled"] + ["completed"] * 16
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
        yield [(invoices, inv_rows), (calls, cal_rows)]  # type: ignore[list-item]


# -- writers ------------------------------------------------------------------------------------

_FACTOR = Decimal(10) ** MONEY_SCALE
Converter = Callable[[Any], Any] | None
Batch = list[tuple[Table, list[tuple[Any, ...]]]]


def converters(db_kind: str, table: Table) -> list[Converter]:
    """Python values to what the driver stores. SQLite: SQLAlchemy's own bind processors, so the
    stored forms are the app's. PostgreSQL (asyncpg COPY): Money as its scaled integer, JSON as
    text, the rest as is."""
    if db_kind == "sqlite":
        dialect = sqlite_dialect()
        return [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]

    def money(value: Any) -> Any:
        return None if value is None else int(Decimal(value) * _FACTOR)

    def json_text(value: Any) -> Any:
        return None if value is None else orjson.dumps(value).decode()

    out: list[Converter] = []
    for column in table.columns:
        if isinstance(column.type, Money):
            out.append(money)
        elif isinstance(column.type, JSON):
            out.append(json_text)
        else:
            out.append(None)
    return out


def _tuples(
    table: Table, rows: list[dict[str, Any]], convert: list[Converter]
) -> list[tuple[Any, ...]]:
    pairs = list(zip([c.name for c in table.columns], convert, strict=True))
    return [
        tuple(row.get(name) if conv is None else conv(row.get(name)) for name, conv in pairs)
        for row in rows
    ]


async def _copy(db: Database, batches: Iterable[Batch]) -> None:
    conn = await asyncpg.connect(db.plain_url)
    try:
        for batch in batches:
            async with conn.transaction():
                for table, rows in batch:
                    if rows:
                        await conn.copy_records_to_table(
                            table.name, records=rows, columns=[c.name for c in table.columns]
                        )
    finally:
        await conn.close()


def _executemany(db: Database, batches: Iterable[Batch]) -> None:
    conn = sqlite3.connect(db.sqlite_path, timeout=60, isolation_level=None)
    try:
        for batch in batches:
            conn.execute("BEGIN IMMEDIATE")
            for table, rows in batch:
                if rows:
                    columns = ", ".join(f'"{c.name}"' for c in table.columns)
                    marks = ", ".join("?" for _ in table.columns)
                    conn.executemany(
                        f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',  # noqa: S608
                        rows,
                    )
            conn.execute("COMMIT")
    finally:
        conn.close()


def write(db: Database, batches: Iterable[Batch]) -> None:
    if db.kind == "postgresql":
        asyncio.run(_copy(db, batches))
    else:
        _executemany(db, batches)


def write_invoices_callouts(
    db: Database, pairs: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]]
) -> None:
    """Write rows given as dicts (invoices first: the callouts refer to them)."""
    invoices, calls = Invoice.__table__, Callout.__table__
    inv_conv, cal_conv = converters(db.kind, invoices), converters(db.kind, calls)  # type: ignore[arg-type]
    write(
        db,
        (
            [(invoices, _tuples(invoices, inv, inv_conv)), (calls, _tuples(calls, cal, cal_conv))]  # type: ignore[arg-type]
            for inv, cal in pairs
        ),
    )


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
