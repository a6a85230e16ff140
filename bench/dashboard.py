"""What the dashboard's pages cost with a million callouts: p95 latency of each page, over a
real ``credira serve`` process, on SQLite and PostgreSQL (target: under 200 ms each).

The account holds ``--callouts`` callouts (1,000,000 by default) over the last 120 days and the
next week, four per invoice, with what such a history leaves behind: calls (one per finished
callout that dialled, a quarter with an unanswered attempt before it; the answered ones with
an outcome), emails (three callouts in ten), and the event log (the callouts', calls', emails'
and invoices' changes: about four events a callout, each event's ``data`` cut to the object's
id and status). A second account holds a tenth as much, so every query has others' rows to
leave out. Rows are written in bulk (COPY on PostgreSQL, ``executemany`` on SQLite: the
tests' own writer, ``tests/factories.py``), then PostgreSQL is vacuumed and analysed (what
autovacuum does soon after such a load).

Each page is then asked for by one signed-in client (the session cookie of a sign-in through
the form), a second of warm-up, then ``--seconds`` of requests one after another on one
keep-alive connection (closed loop, ``--concurrency`` connections): p50, p95, p99 and max.
A page the dashboard does not serve (404) is reported as missing, not measured.

    python -m bench.dashboard [--db sqlite|postgresql|both] [--callouts 1000000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, cast

import asyncpg
from sqlalchemy import Table
from tests.factories import Batch, Tenant, converters, fast_id

from bench import seed
from bench.dbs import Database, fresh_database, postgres_available
from bench.loadgen import percentile
from bench.servers import Server, load, ready, spawn_credira
from credira.callout.policy import PRIORITY_RANK
from credira.models import Call, Callout, Email, Event, Invoice

TARGET_MS = 200.0
DAYS_PAST, DAYS_AHEAD = 120, 7
BATCH_CALLOUTS = 20_000
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
)
# Of 100 answered calls: what the debtor said.
OUTCOMES = (
    ["acknowledged"] * 40
    + ["promise_to_pay"] * 25
    + ["callback_requested"] * 12
    + ["dispute"] * 8
    + ["opt_out"] * 5
    + ["wrong_party"] * 10
)
HOLDS = ("outside_calling_window", "promise_to_pay", "frequency_limit", "provider_busy")


class Rows:
    """Rows of one table as converted tuples: a template of every column, a few changed."""

    def __init__(self, kind: str, table: Table, base: dict[str, Any]) -> None:
        self.table = table
        self.names = [c.name for c in table.columns]
        self.convert = dict(zip(self.names, converters(kind, table), strict=True))
        self.at = {name: n for n, name in enumerate(self.names)}
        self.template = [self._value(name, base.get(name)) for name in self.names]
        self.rows: list[tuple[Any, ...]] = []

    def _value(self, name: str, value: Any) -> Any:
        convert = self.convert[name]
        return value if convert is None else convert(value)

    def add(self, **fields: Any) -> None:
        row = list(self.template)
        for name, value in fields.items():
            row[self.at[name]] = self._value(name, value)
        self.rows.append(tuple(row))

    def take(self) -> tuple[Table, list[tuple[Any, ...]]]:
        rows, self.rows = self.rows, []
        return self.table, rows


def _tables(kind: str, account_id: str, agent_id: str, now: datetime) -> dict[str, Rows]:
    stamps = {"created_time": now, "updated_time": now}
    invoice = {
        "account_id": account_id,
        "amount": Decimal("100.00"),
        "currency": "USD",
        "due_date": date(2026, 1, 30),
        "status": "open",
        "customer_name": "Debtor",
        "metadata": {},
        "version": 1,
        **stamps,
    }
    callout = {
        "account_id": account_id,
        "status": "completed",
        "type": "payment_reminder",
        "priority": "medium",
        "priority_rank": PRIORITY_RANK["medium"],
        "scheduled_time": now,
        "calls_enabled": True,
        "emails_enabled": False,
        "voice_agent_id": agent_id,
        "metadata": {},
        "run_at": now,
        "attempt_count": 1,
        "origin": "api",
        "consented": False,
        "email_done": False,
        "version": 1,
        **stamps,
    }
    call = {
        "account_id": account_id,
        "attempt_number": 1,
        "provider": "simulator",
        "voice_agent_id": agent_id,
        "to_number": "+14155550100",
        "status": "completed",
        "call_type": "outbound",
        "call_purpose": "payment_reminder",
        "scheduled_time": now,
        "answered": False,
        "keywords": [],
        "tags": [],
        "metadata": {},
        **stamps,
    }
    email = {
        "account_id": account_id,
        "recipient_email": "debtor@example.com",
        "subject": "Invoice reminder",
        "html_body": "<p>Please pay your invoice.</p>",
        "text_body": "Please pay your invoice.",
        "origin": "callout",
        "email_type": "payment_reminder",
        "priority": "medium",
        "priority_rank": PRIORITY_RANK["medium"],
        "status": "delivered",
        "scheduled_time": now,
        "run_at": now,
        "attempt_count": 1,
        "bounced": False,
        "unsubscribed": False,
        "metadata": {},
        "version": 1,
        **stamps,
    }
    event = {"account_id": account_id, "created_time": now, "data": {}, "webhooks_pending": False}
    tables = (Invoice, Callout, Call, Email, Event)
    bases = (invoice, callout, call, email, event)
    return {
        str(model.__tablename__): Rows(kind, cast(Table, model.__table__), base)
        for model, base in zip(tables, bases, strict=True)
    }


def history(
    kind: str, account_id: str, agent_id: str, callouts: int, now: datetime, prefix: str
) -> Iterator[Batch]:
    """The account's rows in batches (invoices, callouts, calls, emails, events in that order:
    each refers only to rows of an earlier table)."""
    t = _tables(kind, account_id, agent_id, now)
    start = now - timedelta(days=DAYS_PAST)
    span = timedelta(days=DAYS_PAST + DAYS_AHEAD).total_seconds()
    invoices = (callouts + 3) // 4
    made = 0

    def event(type_: str, object_id: str, invoice_id: str, at: datetime, **more: Any) -> None:
        t["events"].add(
            id=fast_id("event"),
            type=type_,
            object_id=object_id,
            invoice_id=invoice_id,
            created_time=at,
            data={"id": object_id, "status": type_.split(".", 1)[1], **more},
            **({"callout_id": more["callout_id"]} if "callout_id" in more else {}),
        )

    for n in range(invoices):
        first = start + timedelta(seconds=span * n / invoices)
        inv_id = fast_id("invoice")
        amount = Decimal(50 + (n * 37) % 4950)
        currency = "EUR" if n % 10 == 0 else "USD"
        zone = ZONES[n % len(ZONES)]
        paid = n % 10 < 3 and first + timedelta(days=10) < now
        promised: date | None = None
        event("invoice.created", inv_id, inv_id, first - timedelta(days=1))
        name = f"Debtor {prefix}{n}"
        for j in range(min(4, callouts - made)):
            k = made
            made += 1
            at = first + timedelta(days=3 * j, minutes=(k * 7) % 600)
            callout_id = fast_id("callout")
            fields: dict[str, Any] = {
                "id": callout_id,
                "invoice_id": inv_id,
                "scheduled_time": at,
                "run_at": at,
                "contact_name": name,
                "created_time": first - timedelta(days=1),
                "updated_time": at,
            }
            event("callout.scheduled", callout_id, inv_id, first - timedelta(days=1))
            if at > now or now - at < timedelta(minutes=10):
                # Still to come (a fifth held by a rule), or due and not yet taken.
                fields.update(status="scheduled", attempt_count=0)
                if at > now and k % 5 == 0:
                    fields.update(hold_reason=HOLDS[k % len(HOLDS)], run_at=at + timedelta(hours=2))
                t["callouts"].add(**fields)
                continue
            roll = k % 100
            status = "completed" if roll < 72 else "failed" if roll < 90 else "cancelled"
            fields.update(status=status, completed_time=at)
            t["callouts"].add(**fields)
            event(f"callout.{status}", callout_id, inv_id, at, callout_id=callout_id)
            if status != "cancelled":
                if k % 4 == 0:
                    _call(t, event, k, inv_id, callout_id, at - timedelta(hours=2), None, 1)
                outcome = OUTCOMES[k % len(OUTCOMES)] if status == "completed" else None
                _call(t, event, k, inv_id, callout_id, at, outcome, 2 if k % 4 == 0 else 1)
                if outcome == "promise_to_pay":
                    promised = (at + timedelta(days=7)).date()
                    event("invoice.promised", inv_id, inv_id, at, promised_date=str(promised))
            if k % 10 < 3:
                _email(t, event, k, inv_id, callout_id, at - timedelta(days=1))
        t["invoices"].add(
            id=inv_id,
            number=f"INV-{prefix}{n:08d}",
            amount=amount,
            currency=currency,
            customer_name=name,
            customer_email=f"debtor{n}@example.com",
            customer_phone=f"+1415{n % 100000:05d}00",
            customer_timezone=zone,
            status="paid" if paid else "open",
            promised_date=promised,
            created_time=first - timedelta(days=1),
        )
        if paid:
            event("invoice.paid", inv_id, inv_id, first + timedelta(days=10))
        if made % BATCH_CALLOUTS < 4 or made == callouts:
            yield [t[name].take() for name in ("invoices", "callouts", "calls", "emails", "events")]


def _call(
    t: dict[str, Rows],
    event: Callable[..., None],
    k: int,
    invoice_id: str,
    callout_id: str,
    at: datetime,
    outcome: str | None,
    attempt: int,
) -> None:
    call_id = fast_id("call")
    answered = outcome is not None
    status = "completed" if answered else ("no_answer", "busy", "voicemail")[k % 3]
    token = call_id[5:]
    t["calls"].add(
        id=call_id,
        invoice_id=invoice_id,
        callout_id=callout_id,
        attempt_id=f"attempt_{token}",
        attempt_number=attempt,
        idempotency_key=f"{callout_id}:call:{attempt}",
        status=status,
        scheduled_time=at,
        placed_time=at,
        start_time=at if answered else None,
        end_time=at + timedelta(seconds=70) if answered else None,
        duration=70 if answered else 0,
        answered=answered,
        outcome=outcome,
        summary=f"The debtor's answer: {outcome}." if answered else None,
        transcript="Agent: Hello.\nDebtor: Hello." if answered else None,
        created_time=at,
        updated_time=at,
    )
    event(f"call.{status}", call_id, invoice_id, at, callout_id=callout_id)


def _email(
    t: dict[str, Rows],
    event: Callable[..., None],
    k: int,
    invoice_id: str,
    callout_id: str,
    at: datetime,
) -> None:
    email_id = fast_id("email")
    token = email_id[6:]
    status = "unconfirmed" if k % 20_000 == 7 else "delivered"
    t["emails"].add(
        id=email_id,
        callout_id=callout_id,
        invoice_id=invoice_id,
        attempt_id=f"attempt_{token}",
        idempotency_key=f"email:{token}",
        message_id=f"<{token}@bench.example>",
        tracking_id=f"track_{token}",
        status=status,
        scheduled_time=at,
        run_at=at,
        sent_time=at,
        delivered_time=at if status == "delivered" else None,
        opened_time=at + timedelta(hours=3) if k % 5 < 2 else None,
        created_time=at,
        updated_time=at,
    )
    event(f"email.{status}", email_id, invoice_id, at, callout_id=callout_id)


def analyze(db: Database) -> None:
    """PostgreSQL: what autovacuum does soon after a bulk load, done before measuring. ANALYZE
    for the planner's statistics, VACUUM for the visibility map: without it an index-only scan
    (the overview's counts) still reads every row it counts from the table."""
    if db.kind != "postgresql":
        return

    async def run() -> None:
        conn = await asyncpg.connect(db.plain_url)
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()

    asyncio.run(run())


def populate(db: Database, callouts: int) -> tuple[Tenant, float, dict[str, int]]:
    """The measured account (and another, a tenth its size); seconds taken, rows per table."""
    began = time.perf_counter()
    tenant = seed.create_tenant(db)
    other = seed.create_tenant(db)
    now = datetime.now(UTC)
    counts: dict[str, int] = {}

    def counted(batches: Iterator[Batch]) -> Iterator[Batch]:
        for batch in batches:
            for table, rows in batch:
                counts[table.name] = counts.get(table.name, 0) + len(rows)
            yield batch

    seed.write(db, counted(history(db.kind, tenant.account_id, tenant.agent_id, callouts, now, "")))
    seed.write(
        db,
        counted(history(db.kind, other.account_id, other.agent_id, callouts // 10, now, "B")),
    )
    analyze(db)
    return tenant, time.perf_counter() - began, counts


# -- the pages --------------------------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(server: Server, key: str) -> str:
    """The session cookie (``name=value``) of a sign-in through the form."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{server.port}/dashboard"
    with opener.open(f"{base}/sign-in", timeout=30) as reply:
        found = _TOKEN.search(reply.read().decode())
    assert found is not None, "no sign-in form"
    body = urllib.parse.urlencode({"csrf_token": found.group(1), "api_key": key}).encode()
    with opener.open(f"{base}/sign-in", data=body, timeout=30) as reply:
        assert reply.status == 200, reply.status
    cookies = [f"{c.name}={c.value}" for c in jar if "session" in c.name]
    assert cookies, "no session cookie"
    return cookies[0]


def _get(server: Server, path: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", headers={"Cookie": cookie}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - our server
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def pages(server: Server, cookie: str) -> dict[str, str]:
    """The pages to measure, by name: the fixed ones and, found from the lists, a busy
    invoice's and a completed callout's own page."""
    found = {
        "overview": "/dashboard",
        "callouts": "/dashboard/callouts",
        "callouts, scheduled": "/dashboard/callouts?status=scheduled",
        "invoices": "/dashboard/invoices",
        "invoices, open": "/dashboard/invoices?status=open",
        "calls": "/dashboard/calls",
        "calls, promises": "/dashboard/calls?outcome=promise_to_pay",
        "emails": "/dashboard/emails",
        "emails, unconfirmed": "/dashboard/emails?status=unconfirmed",
        "voice agents": "/dashboard/agents",
        "email templates": "/dashboard/templates",
        "collection plans": "/dashboard/plans",
    }
    _, listing = _get(server, "/dashboard/callouts?status=completed", cookie)
    callout = re.search(r'href="(/dashboard/callouts/callout_[0-9A-Za-z]+)"', listing)
    if callout:
        found["callout"] = callout.group(1)
    invoice = re.search(r'href="(/dashboard/invoices/inv_[0-9A-Za-z]+)"', listing)
    if invoice:
        found["invoice"] = invoice.group(1)
    return found


def measure(
    server: Server, cookie: str, path: str, seconds: float, concurrency: int
) -> dict[str, Any]:
    spec = {
        "host": "127.0.0.1",
        "port": server.port,
        "concurrency": concurrency,
        "warmup": 1.0,
        "duration": seconds,
        "headers": {"Cookie": cookie},
        "requests": [{"method": "GET", "path": path, "body": None}],
        "rate": None,
        "keep_latencies": True,
    }
    result = load(spec)
    latencies = sorted(result.pop("latencies_s"))
    return {
        "requests": result["requests"],
        "errors": result["errors"],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": result["max_ms"],
    }


def run(kind: str, callouts: int, seconds: float, concurrency: int) -> None:
    print(f"\n## {kind}: {callouts:,} callouts", flush=True)
    with fresh_database(kind, "dashboard") as db:
        tenant, took, counts = populate(db, callouts)
        rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
        print(f"seeded in {took:.0f} s: {rows}", flush=True)
        logs = Path(tempfile.mkdtemp(prefix="credira-bench-dashboard-logs-"))
        server = spawn_credira(db, logs, CREDIRA_DASHBOARD_COOKIE_SECURE="false")
        try:
            ready(server)
            cookie = sign_in(server, tenant.key)
            print("| page | path | requests | p50 ms | p95 ms | p99 ms | max ms | target |")
            print("|---|---|---|---|---|---|---|---|")
            for name, path in pages(server, cookie).items():
                status, _ = _get(server, path, cookie)
                if status == 404:
                    print(f"| {name} | `{path}` | missing (404) | | | | | |", flush=True)
                    continue
                if status != 200:
                    print(f"| {name} | `{path}` | HTTP {status} | | | | | |", flush=True)
                    continue
                r = measure(server, cookie, path, seconds, concurrency)
                verdict = "met" if r["p95_ms"] < TARGET_MS and not r["errors"] else "MISSED"
                shown = re.sub(r"/(inv|callout)_[0-9A-Za-z]+", r"/\1_...", path)
                print(
                    f"| {name} | `{shown}` | {r['requests']} | {r['p50_ms']:.1f} | "
                    f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {verdict} |",
                    flush=True,
                )
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--callouts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and (why := postgres_available()):
            print(f"skipping PostgreSQL: {why}")
            continue
        run(kind, args.callouts, args.seconds, args.concurrency)


if __name__ == "__main__":
    main()
