"""Rows for tests and the bench: one builder per object, and a bulk writer.

This is the one module that ``tests/`` and ``bench/`` share; neither imports anything else of
the other. It imports only ``credira`` and the service's own dependencies, so the bench can use
it without the test suite's.

Two ways to make a callout:
- ``new_callout`` builds it the way the API does (``credira.callout.state.new``: scheduled, with
  its ``callout.scheduled`` event), for runs whose events are read afterwards;
- ``callout`` builds the row directly, in any status and with no event, for tests that set up
  a past the worker never saw, and ``callout_row`` as a plain dict for bulk loads (seeded rows
  have no events, which load tests do not need).

Bulk loads: rows as dicts keyed by column name with Python values (aware datetimes, Decimal
amounts, dicts for JSON); ``write`` sends batches of converted tuples with COPY on PostgreSQL
and ``executemany`` on SQLite.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth.principal import Principal
from credira.callout import state as callout_state
from credira.callout.policy import PRIORITY_RANK
from credira.callout.state import FINISHED, CalloutStatus
from credira.db.types import MONEY_SCALE, Money
from credira.email.state import EmailStatus
from credira.invoice.state import InvoiceStatus
from credira.kit.ids import PREFIXES, new_id, new_token
from credira.models import Account, Callout, Email, Invoice, VoiceAgent
from credira.user import service as user_service
from credira.user.schemas import UserCreate

# -- time zones -------------------------------------------------------------------------------

ZONES = (
    "Pacific/Kiritimati",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Berlin",
    "Europe/London",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Pago_Pago",
)


def zone_in_calling_hours(now: datetime | None = None) -> str:
    """A zone where it is now mid-afternoon, so that calls may be placed during the test."""
    now = now or datetime.now(UTC)

    def distance(name: str) -> float:
        local = now.astimezone(ZoneInfo(name))
        return abs(local.hour + local.minute / 60 - 14.5)

    return min(ZONES, key=distance)


def zone_at_night(now: datetime | None = None) -> str:
    """A zone where it is now the middle of the night."""
    now = now or datetime.now(UTC)

    def distance(name: str) -> float:
        local = now.astimezone(ZoneInfo(name))
        return abs(((local.hour + local.minute / 60) - 2.5 + 12) % 24 - 12)

    return min(ZONES, key=distance)


# -- rows, one builder per object ---------------------------------------------------------------

SCRIPT = "Hello {{customer_name}}, about invoice {{invoice_number}}."
PHONE = "+14155550100"


def account(now: datetime, *, name: str = "Acme", **fields: Any) -> Account:
    fields.setdefault("settings", {})
    return Account(id=new_id("account"), name=name, created_time=now, **fields)


def agent(account_id: str, now: datetime, **fields: Any) -> VoiceAgent:
    """An active simulator agent with a script naming the debtor and the invoice."""
    values: dict[str, Any] = {
        "name": "Ava",
        "provider": "simulator",
        "voice": "default",
        "language": "en-US",
        "from_number": None,
        "script": SCRIPT,
        "max_duration": 600,
        "status": "active",
        "metadata_": {},
    }
    values.update(fields)
    return VoiceAgent(
        id=new_id("agent"), account_id=account_id, created_time=now, updated_time=now, **values
    )


def invoice(account_id: str, now: datetime, **fields: Any) -> Invoice:
    """An open invoice of John Doe in New York, 1250.00 USD; any column may be given."""
    values: dict[str, Any] = {
        "number": f"INV-{new_token()[-10:]}",
        "amount": Decimal("1250.00"),
        "currency": "USD",
        "due_date": date(2024, 1, 30),
        "customer_name": "John Doe",
        "customer_email": "john.doe@example.com",
        "customer_phone": PHONE,
        "customer_timezone": "America/New_York",
        "metadata_": {},
    }
    values.update(fields)
    return Invoice(
        id=new_id("invoice"),
        account_id=account_id,
        status=InvoiceStatus.OPEN.value,
        created_time=now,
        updated_time=now,
        **values,
    )


def contact_of(of: Invoice) -> dict[str, Any]:
    """The fields of a callout that its invoice gives: its ids and the debtor's contact."""
    return {
        "account_id": of.account_id,
        "invoice_id": of.id,
        "contact_name": of.customer_name,
        "contact_email": of.customer_email,
        "contact_phone": of.customer_phone,
    }


def _callout_fields(
    account_id: str, invoice_id: str, agent_id: str | None, fields: dict[str, Any]
) -> dict[str, Any]:
    priority = fields.setdefault("priority", "medium")
    values: dict[str, Any] = {
        "id": new_id("callout"),
        "account_id": account_id,
        "invoice_id": invoice_id,
        "type": "payment_reminder",
        "priority_rank": PRIORITY_RANK[priority],
        "contact_name": "John Doe",
        "contact_email": "john.doe@example.com",
        "contact_phone": PHONE,
        "calls_enabled": True,
        "emails_enabled": False,
        "voice_agent_id": agent_id,
        "origin": "api",
        "consented": False,
    }
    values.update(fields)
    return values


def new_callout(
    session: AsyncSession, of: Invoice, agent_id: str | None, now: datetime, **fields: Any
) -> Callout:
    """A callout of ``of`` made as the API makes one (scheduled, due at ``scheduled_time``,
    default now, its event recorded), added to ``session``."""
    values = _callout_fields(of.account_id, of.id, agent_id, {**contact_of(of), **fields})
    return callout_state.new(session, now, **values)


def callout(
    account_id: str,
    invoice_id: str,
    agent_id: str | None,
    now: datetime,
    *,
    status: CalloutStatus = CalloutStatus.SCHEDULED,
    **fields: Any,
) -> Callout:
    """A callout row written directly, in any status, with no event: a past the worker never
    saw, or rows seeded in bulk. Due at ``run_at`` (default ``now``); John Doe's contact unless
    given (``contact_of``)."""
    run_at = fields.setdefault("run_at", now)
    fields.setdefault("scheduled_time", run_at)
    fields.setdefault("attempt_count", 0)
    fields.setdefault("metadata_", {})
    values = _callout_fields(account_id, invoice_id, agent_id, fields)
    return Callout(status=status.value, created_time=now, updated_time=now, **values)


def email(
    account_id: str, now: datetime, *, status: str = EmailStatus.SCHEDULED, **fields: Any
) -> Email:
    """An email to John Doe written directly (no event), due at ``run_at`` (default ``now``),
    sent on its own (``origin`` send_email) unless given a callout."""
    token = new_token()
    run_at = fields.setdefault("run_at", now)
    values: dict[str, Any] = {
        "id": f"email_{token}",
        "account_id": account_id,
        "attempt_id": f"attempt_{token}",
        "idempotency_key": f"email:{token}",
        "message_id": f"<{token}@credira.localhost>",
        "tracking_id": f"track_{token}",
        "recipient_email": "john.doe@example.com",
        "recipient_name": "John Doe",
        "subject": "Invoice INV-1 is overdue",
        "html_body": "<p>Please pay</p>",
        "text_body": "Please pay",
        "origin": "send_email",
        "email_type": "payment_reminder",
        "priority": "medium",
        "priority_rank": PRIORITY_RANK["medium"],
        "scheduled_time": run_at,
        "attempt_count": 0,
        "metadata_": {},
    }
    values.update(fields)
    return Email(status=EmailStatus(status).value, created_time=now, updated_time=now, **values)


@dataclass(frozen=True)
class Tenant:
    account_id: str
    user_id: str
    key: str
    agent_id: str


async def tenant(
    session: AsyncSession, now: datetime, *, settings: dict[str, Any] | None = None
) -> Tenant:
    """A user made through the service (so its key is real), its account, with ``settings``
    merged into the account's, and a simulator agent; committed."""
    admin = Principal(None, None, frozenset(), is_admin=True)
    body = UserCreate(email="bench@load.example", name="Bench", company="Load Co")
    user, key = await user_service.create_user(session, admin, body, now)
    if settings:
        made = await session.get(Account, user.account_id)
        assert made is not None
        made.settings = {**(made.settings or {}), **settings}
    voice = agent(user.account_id, now)
    session.add(voice)
    await session.commit()
    return Tenant(user.account_id, user.id, key, voice.id)


# -- rows as dicts, for bulk loads --------------------------------------------------------------

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
    return PREFIXES[kind] + str(_stamp[1]) + _random.pop()


def invoice_row(
    account_id: str, n: int, zone: str, digits: str = "00", now: datetime | None = None
) -> dict[str, Any]:
    """Invoice number ``n`` of a bulk load: debtor ``n``, whose phone ends in ``digits`` (the
    simulator answers or not by them)."""
    now = now or datetime.now(UTC)
    return {
        "id": fast_id("invoice"),
        "account_id": account_id,
        "number": f"INV-{n:08d}",
        "amount": Decimal("100.00"),
        "currency": "USD",
        "due_date": date(2024, 1, 30),
        "status": InvoiceStatus.OPEN.value,
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
    status: CalloutStatus,
    scheduled: datetime,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A callout of ``invoice`` (a row of ``invoice_row``), due at ``scheduled``; a finished
    one has one attempt and ended then."""
    now = now or datetime.now(UTC)
    finished = status in FINISHED
    return {
        "id": fast_id("callout"),
        "account_id": invoice["account_id"],
        "invoice_id": invoice["id"],
        "status": status.value,
        "type": "payment_reminder",
        "priority": "medium",
        "priority_rank": PRIORITY_RANK["medium"],
        "scheduled_time": scheduled,
        "contact_name": invoice["customer_name"],
        "contact_email": invoice["customer_email"],
        "contact_phone": invoice["customer_phone"],
        "calls_enabled": True,
        "emails_enabled": False,
        "voice_agent_id": agent_id,
        "metadata": {},
        "status_reason": "bench" if finished and status != CalloutStatus.COMPLETED else None,
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


# -- the bulk writer ----------------------------------------------------------------------------

INVOICES = cast(Table, Invoice.__table__)
CALLOUTS = cast(Table, Callout.__table__)
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


def tuples(
    table: Table, rows: list[dict[str, Any]], convert: list[Converter]
) -> list[tuple[Any, ...]]:
    """Dict rows as tuples in ``table``'s column order, converted for the writer."""
    pairs = list(zip([c.name for c in table.columns], convert, strict=True))
    return [
        tuple(row.get(name) if conv is None else conv(row.get(name)) for name, conv in pairs)
        for row in rows
    ]


def kind_of(url: str) -> str:
    """``sqlite`` or ``postgresql``, from a SQLAlchemy URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


async def _copy(url: str, batches: Iterable[Batch]) -> None:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
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


def _executemany(url: str, batches: Iterable[Batch]) -> None:
    conn = sqlite3.connect(Path(url.split(":///", 1)[1]), timeout=60, isolation_level=None)
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


async def write_async(url: str, batches: Iterable[Batch]) -> None:
    """``write`` from a running event loop."""
    if kind_of(url) == "postgresql":
        await _copy(url, batches)
    else:
        await asyncio.to_thread(_executemany, url, batches)


def write(url: str, batches: Iterable[Batch]) -> None:
    """Write converted batches (see ``converters``), each in one transaction, in order."""
    if kind_of(url) == "postgresql":
        asyncio.run(_copy(url, batches))
    else:
        _executemany(url, batches)


def invoice_callout_batches(
    url: str, pairs: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]]
) -> Iterable[Batch]:
    """Dict rows of invoices and callouts as batches (invoices first: callouts refer to them)."""
    kind = kind_of(url)
    inv_conv, cal_conv = converters(kind, INVOICES), converters(kind, CALLOUTS)
    for inv, cal in pairs:
        yield [
            (INVOICES, tuples(INVOICES, inv, inv_conv)),
            (CALLOUTS, tuples(CALLOUTS, cal, cal_conv)),
        ]
