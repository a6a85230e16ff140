"""Each hot query uses its index, on SQLite and on PostgreSQL.

The SQL is the code's own: each case calls the repository function a request or the worker
calls, and the statement it sends is captured with a SQLAlchemy event, then explained with the
same parameters. SQLite: ``EXPLAIN QUERY PLAN`` (its planner needs no statistics). PostgreSQL:
a few thousand rows over 20 accounts, ``ANALYZE``, then ``EXPLAIN`` with ``enable_seqscan =
off`` (with no usable index the plan still says ``Seq Scan``).

A plan passes when it searches the table through the expected index, constrained on that
index's leading column (SQLite ``SEARCH t USING INDEX i (col=?...)``; PostgreSQL an index scan
on ``i`` whose ``Index Cond`` names the column), and never reads the table in full.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    Integer,
    Table,
    UniqueConstraint,
    event,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from credira.auth import repository as auth_repository
from credira.call import repository as call_repository
from credira.callout import repository as callout_repository
from credira.callout.policy import PRIORITY_RANK
from credira.caps import repository as caps_repository
from credira.dashboard import lists_repository
from credira.db.dialect import prefer_index_order
from credira.db.types import Money, UTCDateTime
from credira.email import repository as email_repository
from credira.event.types import EventType
from credira.invoice import repository as invoice_repository
from credira.kit.pagination import Page
from credira.models import Account, ApiKey, Base, Call, Callout, Email, Invoice, User
from credira.overview import repository as overview_repository
from credira.suppression import repository as suppression_repository
from credira.worker import repository as worker_repository
from tests.conftest import _truncate_all

# Enough rows that a lookup by id is clearly cheaper through the primary key than through an
# index on the account: 50 invoices per account, 4 callouts per invoice.
ACCOUNTS, INVOICES, CALLOUTS = 10, 50, 4
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def account_id(a: int) -> str:
    return f"acc_{a:026d}"


def invoice_id(a: int, i: int) -> str:
    return f"inv_{a:013d}{i:013d}"


def callout_id(a: int, i: int, c: int) -> str:
    return f"callout_{a:010d}{i:08d}{c:08d}"


# The rows the queries look for (they exist on PostgreSQL, where the tables are filled).
ACCOUNT = account_id(7)
INVOICE = invoice_id(7, 3)
CALLOUT = callout_id(7, 3, 2)
PAGE = Page(100, None)

Query = Callable[[AsyncSession], Awaitable[Any]]


def _invoice_get(session: AsyncSession) -> Awaitable[Any]:
    # The invoice lookup every callout list and create starts with.
    return invoice_repository.get(session, ACCOUNT, INVOICE)


def _claim_due_callouts(session: AsyncSession) -> Awaitable[Any]:
    # claim_due's second statement: the due callouts, in claim order.
    due = worker_repository._due(NOW)
    return worker_repository._take(session, due, "bench:1", NOW, timedelta(seconds=30), 50)


def _take_daily_call(session: AsyncSession) -> Awaitable[bool]:
    # The daily call cap's count, taken before every dial.
    stripes = caps_repository._stripes(session)
    return caps_repository._take_free(session, ACCOUNT, NOW.date(), "call", 1000, stripes)


# what the code calls, the table, its index on SQLite and on PostgreSQL
CASES = [
    pytest.param(
        lambda s: auth_repository.find_active_key(s, "0" * 64),
        "api_keys",
        "sqlite_autoindex_api_keys_2",  # the UNIQUE (key_hash) constraint
        "uq_api_keys_key_hash",
        id="api_key_by_hash",
    ),
    pytest.param(
        lambda s: callout_repository.get(s, ACCOUNT, CALLOUT),
        "callouts",
        "sqlite_autoindex_callouts_1",  # the primary key
        # or the account's callouts in id order: either finds the one row by both columns
        "pk_callouts|ix_callouts_account_id",
        id="callout_by_id_and_account",
    ),
    pytest.param(
        _invoice_get,
        "invoices",
        "sqlite_autoindex_invoices_1",
        "pk_invoices|ix_invoices_account_id",
        id="invoice_by_id_and_account",
    ),
    pytest.param(
        lambda s: callout_repository.list_for_invoice(s, ACCOUNT, INVOICE, None, PAGE),
        "callouts",
        "ix_callouts_account_invoice",
        "ix_callouts_account_invoice",
        id="callouts_by_account_and_invoice",
    ),
    pytest.param(
        # Its first statement: callouts whose worker stopped renewing the lease.
        lambda s: worker_repository.claim_due(s, "bench:1", NOW, timedelta(seconds=30), 50),
        "callouts",
        "ix_callouts_due",
        "ix_callouts_due",
        id="worker_claims_abandoned_callouts",
    ),
    pytest.param(
        _claim_due_callouts,
        "callouts",
        "ix_callouts_due",
        "ix_callouts_due",
        id="worker_claims_due_callouts",
    ),
    pytest.param(
        _take_daily_call,
        "daily_usage",
        "sqlite_autoindex_daily_usage_1",  # the primary key
        "pk_daily_usage",
        id="daily_call_cap_count",
    ),
    pytest.param(
        lambda s: call_repository.list_for_invoice(s, ACCOUNT, INVOICE, PAGE),
        "calls",
        "ix_calls_account_invoice",
        "ix_calls_account_invoice",
        id="calls_by_account_and_invoice",
    ),
    pytest.param(
        lambda s: call_repository.history(s, INVOICE, NOW - timedelta(days=8)),
        "calls",
        "ix_calls_invoice_placed",
        "ix_calls_invoice_placed",
        id="call_history_of_invoice",
    ),
    pytest.param(
        # The worker's decisions, a batch at a time: the invoices locked, then their calls.
        lambda s: invoice_repository.lock_all(s, [INVOICE, invoice_id(3, 9), invoice_id(5, 1)]),
        "invoices",
        "sqlite_autoindex_invoices_1",
        "pk_invoices",
        id="invoices_locked_for_a_batch_of_decisions",
    ),
    pytest.param(
        lambda s: call_repository.open_attempts(s, [CALLOUT, callout_id(3, 9, 1)]),
        "calls",
        "ix_calls_callout",
        "ix_calls_callout",
        id="open_attempts_of_a_batch_of_callouts",
    ),
    pytest.param(
        lambda s: call_repository.histories(
            s, [INVOICE, invoice_id(3, 9), invoice_id(5, 1)], NOW - timedelta(days=8)
        ),
        "calls",
        "ix_calls_invoice_placed",
        "ix_calls_invoice_placed",
        id="call_histories_of_a_batch_of_invoices",
    ),
    pytest.param(
        lambda s: suppression_repository.suppressed_among(
            s, "phone", {(ACCOUNT, "+14155550100"), (account_id(3), "+14155550101")}
        ),
        "suppressions",
        "ix_suppressions_lookup",
        "ix_suppressions_lookup",
        id="suppressions_of_a_batch_of_numbers",
    ),
    pytest.param(
        lambda s: email_repository.list_for_callout(s, ACCOUNT, CALLOUT, PAGE),
        "emails",
        "ix_emails_account_callout",
        "ix_emails_account_callout",
        id="emails_by_account_and_callout",
    ),
    pytest.param(
        lambda s: email_repository.for_callout(s, CALLOUT),
        "emails",
        "ix_emails_callout",
        "ix_emails_callout",
        id="emails_of_callout_for_its_response",
    ),
    pytest.param(
        lambda s: email_repository.open_for_callout(s, CALLOUT),
        "emails",
        "ix_emails_callout",
        "ix_emails_callout",
        id="open_email_of_callout_in_worker",
    ),
    pytest.param(
        lambda s: email_repository.claim_due(s, "bench:1", NOW, timedelta(seconds=30), 50),
        "emails",
        "ix_emails_due",
        "ix_emails_due",
        id="worker_claims_due_emails",
    ),
    # The dashboard: the overview's figures and the lists, newest first.
    pytest.param(
        lambda s: overview_repository.callouts_by_status(s, ACCOUNT, NOW, NOW + timedelta(days=1)),
        "callouts",
        "ix_callouts_account_scheduled",
        "ix_callouts_account_scheduled",
        id="overview_today_by_status",
    ),
    pytest.param(
        lambda s: overview_repository.due_contacts(s, ACCOUNT, NOW, NOW + timedelta(hours=12), 50),
        "callouts",
        "ix_callouts_account_run",
        "ix_callouts_account_run",
        id="overview_due_contacts",
    ),
    pytest.param(
        lambda s: overview_repository.held_by_reason(s, ACCOUNT),
        "callouts",
        "ix_callouts_account_held",
        "ix_callouts_account_held",
        id="overview_held_by_reason",
    ),
    pytest.param(
        lambda s: overview_repository.money_events(
            s, ACCOUNT, EventType.INVOICE_PAID, NOW - timedelta(days=14), NOW
        ),
        "events",
        "ix_events_account_type",
        "ix_events_account_type",
        id="overview_money",
    ),
    pytest.param(
        lambda s: lists_repository.calls(
            s, ACCOUNT, status=None, outcome=None, before=None, limit=50
        ),
        "calls",
        "ix_calls_account_id",
        "ix_calls_account_id",
        id="dashboard_calls_newest_first",
    ),
    pytest.param(
        lambda s: lists_repository.emails(s, ACCOUNT, status="unconfirmed", before=None, limit=50),
        "emails",
        "ix_emails_account_status",
        "ix_emails_account_status",
        id="dashboard_emails_of_a_status",
    ),
    pytest.param(
        lambda s: lists_repository.invoices(s, ACCOUNT, status=None, before=None, limit=50),
        "invoices",
        "ix_invoices_account_id",
        "ix_invoices_account_id",
        id="dashboard_invoices_newest_first",
    ),
]


def _row(table: Table, n: int, **values: Any) -> dict[str, Any]:
    """Every column of ``table``: the given values, else NULL where allowed, else a filler of
    the column's type (distinct per ``n``, so unique columns stay unique)."""
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.key in values:
            row[column.key] = values[column.key]
        elif column.nullable:
            row[column.key] = None
        elif isinstance(column.type, Money):
            row[column.key] = Decimal("100.00")
        elif isinstance(column.type, UTCDateTime):
            row[column.key] = NOW - timedelta(days=3)
        elif isinstance(column.type, Boolean):
            row[column.key] = False
        elif isinstance(column.type, Date):
            row[column.key] = date(2026, 1, 1)
        elif isinstance(column.type, JSON):
            row[column.key] = {}
        elif isinstance(column.type, Integer):
            row[column.key] = 1
        elif isinstance(column.type, Float):
            row[column.key] = 0.5
        else:
            text = f"{table.name[:6]}{column.key[:8]}{n}"
            length = getattr(column.type, "length", None)
            row[column.key] = text[-length:] if length else text
    return row


def _rows() -> dict[Table, list[dict[str, Any]]]:
    t = {
        m.__tablename__: m.__table__ for m in (Account, User, ApiKey, Invoice, Callout, Call, Email)
    }
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in t}
    later, earlier = NOW + timedelta(days=2), NOW - timedelta(days=2)
    for a in range(ACCOUNTS):
        acc = account_id(a)
        user = f"user_{a:026d}"
        out["accounts"].append(_row(t["accounts"], a, id=acc, settings={}))
        out["users"].append(
            _row(t["users"], a, id=user, account_id=acc, status="active", permissions=[])
        )
        for k in range(5):
            n = a * 5 + k
            out["api_keys"].append(
                _row(
                    t["api_keys"],
                    n,
                    id=f"key_{n:026d}",
                    user_id=user,
                    account_id=acc,
                    key_hash=f"{n:064d}",
                )
            )
        for i in range(INVOICES):
            inv = invoice_id(a, i)
            out["invoices"].append(
                _row(t["invoices"], a * 100 + i, id=inv, account_id=acc, status="open")
            )
            for c in range(CALLOUTS):
                n = (a * 100 + i) * 100 + c
                cid = callout_id(a, i, c)
                status = ("completed", "completed", "scheduled", "active")
                out["callouts"].append(
                    _row(
                        t["callouts"],
                        n,
                        id=cid,
                        account_id=acc,
                        invoice_id=inv,
                        status=status[c],
                        run_at=later if c < 3 else earlier,
                        lease_expires=later if c == 3 else None,
                    )
                )
                out["calls"].append(
                    _row(
                        t["calls"],
                        n,
                        id=f"call_{n:026d}",
                        account_id=acc,
                        invoice_id=inv,
                        callout_id=cid,
                        status="completed",
                        placed_time=earlier,
                    )
                )
                if c % 2 == 0:
                    out["emails"].append(
                        _row(
                            t["emails"],
                            n,
                            id=f"email_{n:026d}",
                            account_id=acc,
                            invoice_id=inv,
                            callout_id=cid,
                            origin="callout",
                            status="delivered" if c else "scheduled",
                            run_at=later,
                        )
                    )
    return {t[name]: rows for name, rows in out.items()}


async def _fill(url: str) -> None:
    await _truncate_all(url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for table, rows in _rows().items():
                await connection.execute(insert(table), rows)
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    finally:
        await engine.dispose()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def explain_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per backend for this module; on PostgreSQL filled and analyzed once."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path_factory.mktemp("explain") / "credira.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_fill(url))
    return url


@pytest.fixture
async def conn(explain_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(explain_url)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # Session-wide, committed: a rollback must not bring sequential scans back.
                await connection.exec_driver_sql("SET enable_seqscan = off")
                await connection.commit()
            yield connection
    finally:
        await engine.dispose()


async def captured(conn: AsyncConnection, call: Query) -> tuple[str, Any]:
    """The first statement ``call`` sends, with its parameters as the driver got them."""
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "set_config(" not in statement:  # planner settings: nothing to explain
            sent.append((statement, parameters))

    event.listen(conn.sync_engine, "before_cursor_execute", record)
    try:
        async with AsyncSession(bind=conn) as session:
            await call(session)
            await session.rollback()
    finally:
        event.remove(conn.sync_engine, "before_cursor_execute", record)
    assert sent, "the repository function sent no SQL"
    return sent[0]


async def plan(conn: AsyncConnection, statement: str, parameters: Any) -> str:
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    result = await conn.exec_driver_sql(explain + statement, parameters)
    rows = result.all()
    await conn.rollback()
    return "\n".join(str(row[-1]) for row in rows)


def full_scans(text: str, table: str, dialect: str) -> list[str]:
    # SQLite: "SCAN t" reads the table, "SCAN t USING [COVERING] INDEX i" a whole index.
    pattern = rf"\bSCAN {table}\b" if dialect == "sqlite" else rf"Seq Scan on {table}\b"
    return [line for line in text.splitlines() if re.search(pattern, line)]


def leading_column(table: str, index: str) -> str:
    """The first column of ``index`` (SQLite's automatic indexes: the primary key, or the
    unique column)."""
    found = Base.metadata.tables[table]
    for ix in found.indexes:
        if ix.name == index:
            return next(iter(ix.columns)).name
    for constraint in found.constraints:
        if constraint.name == index or (
            index.startswith("sqlite_autoindex") and isinstance(constraint, UniqueConstraint)
        ):
            return next(iter(constraint.columns)).name
    return next(iter(found.primary_key.columns)).name


def searches(text: str, table: str, index: str, dialect: str) -> bool:
    """The plan reaches ``table`` through ``index``, constrained on its leading column."""
    column = leading_column(table, index)
    if dialect == "sqlite":
        pattern = rf"SEARCH {table} USING (?:COVERING )?INDEX {index} \((?:[^)]*\b)?{column}\b"
        return re.search(pattern, text) is not None
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if re.search(
            rf"Index (?:Only )?Scan (?:Backward )?using {index} on {table}\b"
            rf"|Bitmap Index Scan on {index}\b",
            line,
        ):
            for cond in lines[at + 1 :]:
                if "->" in cond:
                    break
                if "Index Cond:" in cond and re.search(rf"\b{column}\b", cond):
                    return True
    return False


@pytest.mark.parametrize(("call", "table", "sqlite_index", "pg_index"), CASES)
async def test_hot_query_uses_its_index(
    request: pytest.FixtureRequest,
    conn: AsyncConnection,
    call: Query,
    table: str,
    sqlite_index: str,
    pg_index: str,
) -> None:
    case = request.node.callspec.id
    dialect = conn.dialect.name
    statement, parameters = await captured(conn, call)
    text = await plan(conn, statement, parameters)
    index = sqlite_index if dialect == "sqlite" else pg_index
    assert not full_scans(text, table, dialect), f"{case} reads {table} in full:\n{text}"
    found = any(searches(text, table, one, dialect) for one in index.split("|"))
    assert found, f"{case} does not search {index}:\n{text}"


def _claim_due_emails(session: AsyncSession) -> Awaitable[Any]:
    return email_repository.claim_due(session, "bench:1", NOW, timedelta(seconds=30), 50)


@pytest.mark.parametrize(
    ("call", "index", "sorted_parts"),
    [
        pytest.param(_claim_due_callouts, "ix_callouts_due", 0, id="callouts"),
        # The emails being sent whose worker stopped renewing the lease are taken first, in
        # claim order: few, and over two statuses, so sorted.
        pytest.param(_claim_due_emails, "ix_emails_due", 1, id="emails"),
    ],
)
async def test_claim_walks_its_index_in_claim_order(
    conn: AsyncConnection, call: Query, index: str, sorted_parts: int
) -> None:
    """The due rows come off their index already in claim order (urgent first, then the
    longest due): one range of the index per priority, each in ``run_at`` order, so a claim
    stops after its rows instead of fetching and sorting every due row. (PostgreSQL plans with
    sorting disabled, as the claiming transaction has it: ``prefer_index_order``.)"""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SET enable_sort = off")
        await conn.commit()
    statement, parameters = await captured(conn, call)
    text = await plan(conn, statement, parameters)
    if conn.dialect.name == "sqlite":
        sorts = re.findall(r"TEMP B-TREE", text)
        ranges = re.findall(rf"{index} \(status=\? AND priority_rank=\? AND run_at<\?\)", text)
    else:
        sorts = re.findall(r"\bSort Key:", text)
        ranges = re.findall(
            r"\(status\)::text = 'scheduled'::text\) AND \(priority_rank = \d\) AND \(run_at <= ",
            text,
        )
    assert len(sorts) == sorted_parts, text
    assert len(ranges) == len(PRIORITY_RANK), text


async def test_a_claiming_transaction_plans_without_sorting_or_jit(conn: AsyncConnection) -> None:
    """``prefer_index_order``: sorting and JIT compilation are off until the transaction ends
    (a forced sort is costed so high that PostgreSQL would otherwise JIT-compile every claim)."""
    if conn.dialect.name != "postgresql":
        pytest.skip("SQLite has neither setting: its plans need no statistics")
    before = (
        (await conn.exec_driver_sql("SHOW jit")).scalar(),
        (await conn.exec_driver_sql("SHOW enable_sort")).scalar(),
    )
    await conn.commit()
    async with AsyncSession(bind=conn) as session:
        await prefer_index_order(session)
        assert await session.scalar(text("SHOW enable_sort")) == "off"
        assert await session.scalar(text("SHOW jit")) == "off"
        await session.commit()
    after = (
        (await conn.exec_driver_sql("SHOW jit")).scalar(),
        (await conn.exec_driver_sql("SHOW enable_sort")).scalar(),
    )
    assert after == before
