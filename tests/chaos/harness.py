"""The chaos run, shared by the CI test (tests/chaos/test_chaos.py) and the full run
(``python -m tests.chaos``).

Real processes on PostgreSQL: ``workers`` ``credira worker`` processes run callouts (a call and
an email each) and standalone emails (``POST /v1/send-email``), sending over SMTP to an aiosmtpd
server in this process, while the run

- SIGKILLs a random worker every few seconds and starts a new one in its place, and
- takes the database away twice, in one of two ways:

  * ``restart_postgres=False`` (the default, and CI's): a TCP proxy in front of PostgreSQL drops
    every connection and refuses new ones for ``cut_seconds``, then accepts them again. Other
    tests share the server, so it is not restarted itself; to a client a restart looks the
    same: sessions end mid-query, connecting fails, then works.
  * ``restart_postgres=True``: the local PostgreSQL server itself is restarted
    (``pg_ctlcluster --skip-systemctl-redirect <version> main restart``, as root), which ends
    every session on the server, the harness's own too; the run goes on once it accepts
    connections again. ``restart_target`` says whether this machine can do it.

Then it counts, from the database, the simulator's own table and what the SMTP server
received: callouts lost (not in a final state, and not legitimately held), duplicate calls,
duplicate emails, calls placed outside the debtor's calling window, and emails left
``unconfirmed`` (the reconciliation state: a worker handed the email to the server, then died
or lost the database before recording the reply; it is final, never re-sent on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from credira.app import create_app
from credira.call.state import FINAL as CALL_FINAL
from credira.callout.policy import PRIORITY_RANK
from credira.callout.state import FINISHED as CALLOUT_FINISHED
from credira.config import Settings
from credira.db.engine import create_sessionmaker
from credira.email.state import FINAL as EMAIL_FINAL
from credira.email.state import EmailStatus
from credira.models import (
    Account,
    Call,
    Callout,
    Email,
    Event,
    Invoice,
    SimulatedCall,
    Suppression,
)
from tests import factories
from tests.channel.smtpd import SmtpServer
from tests.faults.proxy import TcpProxy
from tests.support import ADMIN_KEY, Api, zone_at_night, zone_in_calling_hours
from tests.worker.test_processes import start_worker, stop

FINAL = ("completed", "failed", "cancelled")
# The last two digits of the number choose what the simulated debtor does (README): answered
# (acknowledges, promises, disputes, opts out) or not reached (no answer, busy, voicemail,
# provider failure), which is retried. Callbacks (07) schedule a new callout for tomorrow and
# long calls (09) last 30 s: both left out.
ANSWERED = ("00", "05", "06", "08")
UNANSWERED = ("01", "02", "03", "04")
MAX_CALL_ATTEMPTS = 3
WINDOW = (clock_time(8, 0), clock_time(21, 0))


@dataclass(frozen=True)
class ChaosConfig:
    callouts: int = 300  # due now, in a zone where it is afternoon
    night_callouts: int = 30  # due now, where it is night: the email goes, the call waits
    emails: int = 60  # standalone, through POST /v1/send-email
    workers: int = 2
    kill_every: tuple[float, float] = (2.0, 4.0)  # seconds between SIGKILLs, uniform
    cuts_at: tuple[float, ...] = (5.0, 14.0)  # seconds into the run: a cut or a restart each
    cut_seconds: float = 2.0  # proxy mode: how long connections are refused
    restart_postgres: bool = False  # restart the local server instead of cutting a proxy
    chaos_seconds: float = 20.0  # kills stop after this; the run then finishes undisturbed
    deadline_seconds: float = 120.0
    lease_seconds: float = 5.0
    time_scale: float = 0.2
    concurrency: int = 50
    pool_size: int = 5
    seed: int = 6


@dataclass
class Report:
    callouts: int = 0
    emails: int = 0
    kills: int = 0
    workers_started: int = 0  # after the first ones: in place of a killed or exited worker
    start_failures: int = 0  # a worker started during a cut exits: its slot starts another
    db_cuts: int = 0  # through the proxy
    postgres_restarts: int = 0  # of the server itself
    # Seconds from asking for each restart until the server accepted connections again.
    restart_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False
    callout_statuses: dict[str, int] = field(default_factory=dict)
    calls_placed: int = 0
    simulator_calls: int = 0
    messages_received: int = 0
    lost: list[str] = field(default_factory=list)
    duplicate_calls: list[str] = field(default_factory=list)
    # The same Message-ID delivered twice: an attempt whose outcome was lost (the worker died,
    # or the database went away, between the server's acceptance and the write that records
    # it) was sent again. SMTP cannot dedupe; the "ambiguous attempt".
    resent_emails: list[str] = field(default_factory=list)
    # A second email (another Message-ID) for what should have been one.
    extra_emails: list[str] = field(default_factory=list)
    missing_emails: list[str] = field(default_factory=list)
    outside_window: list[str] = field(default_factory=list)
    # Emails left ``unconfirmed`` (the reconciliation state; final, never re-sent on its own),
    # split by whether the SMTP server did receive them: received ones show the state was
    # needed (a blind retry would have sent them twice), the others that it was right not to
    # call them delivered.
    unconfirmed: list[str] = field(default_factory=list)
    unconfirmed_received: int = 0
    # Workers that died on their own while running; the errors workers logged (a callout's
    # run interrupted by a cut, taken over later).
    crashes: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)
    # A conversation whose outcome had no effect: an opt-out not recorded, a dispute that
    # left the invoice open, a promise without its date, or the callout not completed.
    lost_outcomes: list[str] = field(default_factory=list)
    # An object whose end the event log tells wrongly: a finished callout or email without
    # exactly one terminal event (of its final status), an unfinished one with any, a call
    # with more than one final event or none matching its final status.
    terminal_events: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "callouts": self.callouts,
            "emails": self.emails,
            "kills": self.kills,
            "workers_started": self.workers_started,
            "start_failures": self.start_failures,
            "crashes": len(self.crashes),
            "runs_interrupted": len(self.worker_errors),
            "db_cuts": self.db_cuts,
            "postgres_restarts": self.postgres_restarts,
            "restart_seconds": [round(s, 1) for s in self.restart_seconds],
            "seconds": round(self.seconds, 1),
            "finished": self.finished,
            "callout_statuses": self.callout_statuses,
            "calls_placed": self.calls_placed,
            "simulator_calls": self.simulator_calls,
            "messages_received": self.messages_received,
            "lost": len(self.lost),
            "duplicate_calls": len(self.duplicate_calls),
            "duplicate_emails_resent": len(self.resent_emails),
            "duplicate_emails_extra": len(self.extra_emails),
            "missing_emails": len(self.missing_emails),
            "outside_window": len(self.outside_window),
            "lost_outcomes": len(self.lost_outcomes),
            "terminal_events_wrong": len(self.terminal_events),
            "reconciliations": self.reconciliations,
            "unconfirmed_received": self.unconfirmed_received,
            "unconfirmed_not_received": self.reconciliations - self.unconfirmed_received,
        }

    @property
    def reconciliations(self) -> int:
        return len(self.unconfirmed)


# -- setting up -------------------------------------------------------------------------------


async def _tenant(url: str, data_dir: Path) -> tuple[str, str, str, str]:
    """An account made through the API (it gets its default templates), a voice agent, and
    the id of its payment reminder template. Returns (key, account, agent, template)."""
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        admin_key=ADMIN_KEY,
        embedded_worker=False,
        rate_limit_per_key="",
        rate_limit_per_account="",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            tenant = await Api(http).tenant(company="Chaos Co")
            agent = await tenant.agent()
            templates = await tenant.ok(
                "GET", "/v1/email-templates", params={"account_id": tenant.account_id}
            )
            template = next(
                t["id"] for t in templates["data"] if t["category"] == "payment_reminder"
            )
            return tenant.key, tenant.account_id, agent["id"], template


async def _send_emails(url: str, data_dir: Path, key: str, template: str, count: int) -> None:
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        admin_key=ADMIN_KEY,
        embedded_worker=False,
        rate_limit_per_key="",
        rate_limit_per_account="",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as http:
            semaphore = asyncio.Semaphore(20)

            async def send(n: int) -> None:
                body = {
                    "template_id": template,
                    "recipient_email": f"standalone{n}@debtor.example.com",
                    "recipient_name": f"Standalone {n}",
                    "variables": {
                        "customer_name": f"Standalone {n}",
                        "invoice_number": f"INV-S{n}",
                        "amount": "100.00",
                        "due_date": "2024-01-30",
                    },
                }
                async with semaphore:
                    reply = await http.post("/v1/send-email", json=body)
                assert reply.status_code == 201, reply.text

            await asyncio.gather(*(send(n) for n in range(count)))


async def _seed_callouts(
    url: str, account_id: str, agent_id: str, config: ChaosConfig
) -> dict[str, str]:
    """Callouts due now, each on an invoice of its own, with a call and an email. Returns
    {callout id: zone kind ("day" or "night")}."""
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    rng = random.Random(config.seed)
    day, night = zone_in_calling_hours(now), zone_at_night(now)
    kinds: dict[str, str] = {}
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(
                    settings={
                        "max_call_attempts": MAX_CALL_ATTEMPTS,
                        "retry_minutes": [0],  # unanswered calls are retried at once
                        "daily_call_cap": 10_000_000,
                        "daily_email_cap": 10_000_000,
                    }
                )
            )
            invoices, plan = [], []
            for n in range(config.callouts + config.night_callouts):
                kind = "day" if n < config.callouts else "night"
                digits = rng.choice(ANSWERED + UNANSWERED)
                invoice = factories.invoice(
                    account_id,
                    now,
                    number=f"INV-C{n:06d}",
                    amount=Decimal("100.00"),
                    customer_name=f"Debtor {n}",
                    customer_email=f"debtor{n}@debtor.example.com",
                    customer_phone=f"+1415{n:05d}{digits}",
                    customer_timezone=day if kind == "day" else night,
                )
                invoices.append(invoice)
                plan.append((invoice, kind, rng.choice(list(PRIORITY_RANK))))
            session.add_all(invoices)
            await session.flush()
            for invoice, kind, priority in plan:
                # As the API makes them: the event log then tells each callout's whole life.
                callout = factories.new_callout(
                    session,
                    invoice,
                    agent_id,
                    now,
                    priority=priority,
                    emails_enabled=True,
                    metadata_={"chaos": kind},
                )
                kinds[callout.id] = kind
            await session.commit()
    finally:
        await engine.dispose()
    return kinds


# -- taking the database away ----------------------------------------------------------------

T = TypeVar("T")
ETC = Path("/etc/postgresql")
# What a session sees while the server restarts: its connection ends (admin shutdown, connection
# gone), connecting is refused (OSError), then the server is starting up.
_GONE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)


def _database_gone(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _GONE):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def retrying(action: Callable[[], Awaitable[T]], within: float = 120.0) -> T:
    """``action()``, tried again while the database is away (a cut or a restart); any other
    error, or the database away for longer than ``within`` seconds, is raised."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await action()
        except Exception as exc:
            if not _database_gone(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


class CannotRestart(Exception):
    """This machine cannot restart the PostgreSQL server behind the URL (the message says why)."""


@dataclass(frozen=True)
class RestartTarget:
    version: str
    cluster: str = "main"

    @property
    def command(self) -> list[str]:
        return ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.cluster, "restart"]


def _cluster_port(version: str, cluster: str) -> int:
    port = 5432
    conf = ETC / version / cluster / "postgresql.conf"
    for line in conf.read_text(errors="replace").splitlines():
        key, _, value = line.partition("#")[0].partition("=")
        if key.strip() == "port" and value.strip().isdigit():
            port = int(value.strip())
    return port


def restart_target(url: str) -> RestartTarget:
    """The local cluster serving ``url``, which this process can restart, or CannotRestart."""
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 5432
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise CannotRestart(f"PostgreSQL at {host} is not on this machine; only a local one is")
    if os.geteuid() != 0:
        raise CannotRestart("restarting PostgreSQL (pg_ctlcluster) needs root")
    if shutil.which("pg_ctlcluster") is None:
        raise CannotRestart("pg_ctlcluster is not installed (a Debian-packaged PostgreSQL is)")
    versions = (
        sorted(v.name for v in ETC.iterdir() if (v / "main").is_dir()) if ETC.is_dir() else []
    )
    serving = [v for v in versions if _cluster_port(v, "main") == port]
    if not serving:
        found = ", ".join(f"{v}/main on {_cluster_port(v, 'main')}" for v in versions) or "none"
        raise CannotRestart(
            f"no local cluster 'main' listens on port {port} (clusters in {ETC}: {found})"
        )
    return RestartTarget(serving[-1])


async def _accepting(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def restart_postgres(target: RestartTarget, url: str, within: float = 60.0) -> float:
    """Restart the server and wait until ``url`` accepts connections; returns the seconds."""
    started = time.monotonic()
    done = await asyncio.to_thread(
        subprocess.run, target.command, capture_output=True, text=True, timeout=within
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(target.command)} exited with {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()}"
        )
    await retrying(lambda: _accepting(url), within=within)
    return time.monotonic() - started


# -- the run ----------------------------------------------------------------------------------


class Workers:
    """``config.workers`` worker processes, each slot restarted when its process dies."""

    def __init__(self, url: str, folder: Path, env: dict[str, str], count: int) -> None:
        self.url = url
        self.folder = folder
        self.env = env
        self.generation = 0
        self.logs: list[Path] = []
        self.names: list[subprocess.Popen[bytes]] = []  # index i wrote logs[i]
        self.slots: list[subprocess.Popen[bytes]] = [self._start() for _ in range(count)]
        self.replacements = 0
        self.start_failures = 0
        self.crashes: list[str] = []

    def _start(self) -> subprocess.Popen[bytes]:
        self.generation += 1
        name = f"worker{self.generation}"
        self.logs.append(self.folder / f"{name}.log")
        process = start_worker(self.url, self.folder, name, **self.env)
        self.names.append(process)
        return process

    def kill_one(self, rng: random.Random) -> None:
        slot = rng.randrange(len(self.slots))
        process = self.slots[slot]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.slots[slot] = self._start()
        self.replacements += 1

    def replace_dead(self) -> None:
        """A worker that exited on its own is counted and replaced: one that could not start
        (the database was cut as it started) apart from one that died running."""
        for slot, process in enumerate(self.slots):
            if process.poll() is not None:
                log = self.logs[self.names.index(process)]
                if "running on" in log.read_text(errors="replace"):
                    self.crashes.append(f"{log.name}: exit status {process.returncode}")
                else:
                    self.start_failures += 1
                self.slots[slot] = self._start()
                self.replacements += 1

    def stop(self) -> None:
        stop(*self.slots)


async def _work_left(url: str) -> int:
    """Callouts and emails running or due now. What is scheduled for later (a night callout
    waiting for the morning, or one wrongly put off) is judged when counting."""
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.connect() as conn:
            callouts = await conn.scalar(
                select(func.count())
                .select_from(Callout)
                .where(
                    or_(
                        Callout.status == "active",
                        and_(Callout.status == "scheduled", Callout.run_at <= now),
                    )
                )
            )
            emails = await conn.scalar(
                select(func.count())
                .select_from(Email)
                .where(
                    or_(
                        Email.status == "sent",
                        and_(Email.status == "scheduled", Email.run_at <= now),
                    )
                )
            )
            return int(callouts or 0) + int(emails or 0)
    finally:
        await engine.dispose()


async def run_chaos(url: str, folder: Path, config: ChaosConfig, *, say: Any = None) -> Report:
    """Run the chaos against the (empty, migrated) PostgreSQL database at ``url``. With
    ``config.restart_postgres`` the server behind ``url`` is restarted (CannotRestart, before
    anything is done, when this machine cannot)."""
    say = say or (lambda *_: None)
    target = restart_target(url) if config.restart_postgres else None
    rng = random.Random(config.seed)
    report = Report()
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    with SmtpServer() as smtp, contextlib.ExitStack() as stack:
        proxy = None if target else stack.enter_context(TcpProxy.for_url(url))
        key, account_id, agent_id, template = await _tenant(url, folder / "api")
        await _send_emails(url, folder / "api", key, template, config.emails)
        kinds = await _seed_callouts(url, account_id, agent_id, config)
        report.callouts, report.emails = len(kinds), config.emails
        say(f"seeded {len(kinds)} callouts and {config.emails} emails")
        env = {
            "CREDIRA_SMTP_URL": f"{smtp.url}?starttls=false&timeout=5",
            "CREDIRA_SIMULATOR_TIME_SCALE": str(config.time_scale),
            "CREDIRA_WORKER_LEASE_SECONDS": str(config.lease_seconds),
            "CREDIRA_WORKER_CONCURRENCY": str(config.concurrency),
            "CREDIRA_WORKER_POLL_SECONDS": "0.1",
            "CREDIRA_WORKER_GRACE_SECONDS": "2",
            "CREDIRA_DB_POOL_SIZE": str(config.pool_size),
            "CREDIRA_LOG_LEVEL": "warning",
        }
        started = time.monotonic()
        workers = Workers(proxy.url(url) if proxy else url, folder, env, config.workers)
        try:
            cuts = list(config.cuts_at)
            next_kill = started + rng.uniform(*config.kill_every)
            next_note = started + 5
            while True:
                elapsed = time.monotonic() - started
                if cuts and elapsed >= cuts[0]:
                    cuts.pop(0)
                    if target is not None:
                        say(f"{elapsed:5.1f}s restarting PostgreSQL {target.version}")
                        took = await restart_postgres(target, url)
                        report.postgres_restarts += 1
                        report.restart_seconds.append(took)
                        say(f"{time.monotonic() - started:5.1f}s PostgreSQL back ({took:.1f}s)")
                    elif proxy is not None:
                        proxy.cut()
                        say(f"{elapsed:5.1f}s database cut")
                        await asyncio.sleep(config.cut_seconds)
                        proxy.restore()
                        report.db_cuts += 1
                    elapsed = time.monotonic() - started
                if elapsed < config.chaos_seconds and time.monotonic() >= next_kill:
                    workers.kill_one(rng)
                    report.kills += 1
                    next_kill = time.monotonic() + rng.uniform(*config.kill_every)
                workers.replace_dead()
                # The harness's own sessions end with a restart too: asked again until it is back.
                left = await retrying(lambda: _work_left(url))
                if time.monotonic() >= next_note:
                    say(f"{elapsed:5.1f}s {left} callouts and emails running or due")
                    next_note += 5
                if not cuts and left == 0:
                    report.finished = True
                    break
                if elapsed > config.deadline_seconds:
                    break
                await asyncio.sleep(0.25)
            report.seconds = time.monotonic() - started
            say(f"{report.seconds:5.1f}s done (finished={report.finished})")
        finally:
            workers.stop()
        report.workers_started = workers.replacements
        report.start_failures = workers.start_failures
        report.crashes = workers.crashes
        report.worker_errors = _worker_errors(workers.logs)
        await retrying(lambda: _count(url, kinds, smtp, report))
    return report


def _worker_errors(logs: list[Path]) -> list[str]:
    """The errors the workers logged (a run interrupted by a cut or a lost lease, say), one
    line each: expected under chaos, listed for the report."""
    found = []
    for log in logs:
        with contextlib.suppress(FileNotFoundError):
            for line in log.read_text(errors="replace").splitlines():
                if "[error" in line:
                    found.append(f"{log.name}: {' '.join(line.split()[3:5])}")
    return found


# -- counting ---------------------------------------------------------------------------------


def _in_window(instant: datetime, zone: str) -> bool:
    local = instant.astimezone(ZoneInfo(zone)).time()
    return WINDOW[0] <= local < WINDOW[1]


async def _count(url: str, kinds: dict[str, str], smtp: SmtpServer, report: Report) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            callouts = (
                await conn.execute(
                    select(
                        Callout.id,
                        Callout.status,
                        Callout.hold_reason,
                        Callout.run_at,
                        Callout.contact_email,
                        Invoice.customer_phone,
                        Invoice.status.label("invoice_status"),
                        Invoice.promised_date,
                    ).join(Invoice, Invoice.id == Callout.invoice_id)
                )
            ).all()
            calls = (
                await conn.execute(
                    select(
                        Call.callout_id,
                        Call.attempt_number,
                        Call.idempotency_key,
                        Call.placed_time,
                        Call.answered,
                        Call.outcome,
                        Invoice.customer_timezone,
                    ).join(Invoice, Invoice.id == Call.invoice_id)
                )
            ).all()
            simulated = set(
                (await conn.execute(select(SimulatedCall.idempotency_key))).scalars().all()
            )
            suppressed = set(
                (
                    await conn.execute(
                        select(Suppression.value).where(Suppression.channel == "phone")
                    )
                )
                .scalars()
                .all()
            )
            emails = (
                await conn.execute(
                    select(
                        Email.id,
                        Email.callout_id,
                        Email.recipient_email,
                        Email.message_id,
                        Email.status,
                    )
                )
            ).all()
            report.terminal_events = await terminal_event_problems(conn)
    finally:
        await engine.dispose()

    now = datetime.now(UTC)
    statuses = Counter(c.status for c in callouts)
    report.callout_statuses = dict(statuses)
    placed = [c for c in calls if c.placed_time is not None]
    report.calls_placed = len(placed)
    report.simulator_calls = len(simulated)

    # Lost: a callout neither final nor waiting, legitimately, for the night to end.
    calls_of: dict[str, list[Any]] = {}
    for call in calls:
        calls_of.setdefault(call.callout_id, []).append(call)
    for c in callouts:
        if c.status in FINAL:
            continue
        held_for_night = (
            kinds.get(c.id) == "night"
            and c.status == "scheduled"
            and c.hold_reason == "outside_calling_window"
            and c.run_at > now
        )
        conversed = any(call.answered for call in calls_of.get(c.id, []))
        if not held_for_night and not conversed:  # a conversation's callout: lost_outcomes
            report.lost.append(f"{c.id}: {c.status} ({c.hold_reason})")
    # An email is lost while it is still to be sent or its sending is unsettled; ``unconfirmed``
    # is final (the reconciliation state), counted apart below.
    for e in emails:
        if e.status in ("scheduled", "sent"):
            report.lost.append(f"{e.id}: email {e.status}")
    reached = {e.callout_id for e in emails if e.status in ("delivered", "unconfirmed")}
    report.lost += [
        f"{c.id}: its email was neither delivered nor unconfirmed"
        for c in callouts
        if c.id not in reached
    ]

    # Duplicate calls: the simulator dialled what no attempt placed, an attempt was placed
    # twice, or a callout was dialled again after its debtor answered or past its attempts.
    keys = Counter(c.idempotency_key for c in calls)
    placed_keys = {c.idempotency_key for c in placed}
    report.duplicate_calls += [f"simulator dialled {k}" for k in simulated - placed_keys]
    report.duplicate_calls += [f"attempt {k} placed {n} times" for k, n in keys.items() if n > 1]
    for c in callouts:
        attempts = sorted(call.attempt_number for call in calls_of.get(c.id, []))
        if attempts != list(range(1, len(attempts) + 1)):
            report.duplicate_calls.append(f"{c.id}: attempts {attempts}")
        answered = c.customer_phone[-2:] in ANSWERED
        if len(attempts) > (1 if answered else MAX_CALL_ATTEMPTS):
            report.duplicate_calls.append(f"{c.id}: {len(attempts)} calls")
        if kinds.get(c.id) == "night" and attempts:
            report.outside_window.append(f"{c.id}: night callout dialled")

    # Every conversation had its effect.
    for c in callouts:
        for call in calls_of.get(c.id, []):
            if not call.answered or call.outcome is None:
                continue
            missing = []
            if call.outcome == "opt_out" and c.customer_phone not in suppressed:
                missing.append("the opt-out was not recorded")
            if call.outcome == "dispute" and c.invoice_status != "disputed":
                missing.append(f"the invoice is {c.invoice_status}, not disputed")
            if call.outcome == "promise_to_pay" and c.promised_date is None:
                missing.append("the promised date was not recorded")
            if call.outcome != "wrong_party" and c.status != "completed":
                missing.append(f"the callout is {c.status}, not completed")
            if missing:
                report.lost_outcomes.append(f"{c.id} ({call.outcome}): {'; '.join(missing)}")

    for call in placed:
        if not _in_window(call.placed_time, call.customer_timezone):
            report.outside_window.append(
                f"{call.idempotency_key} at {call.placed_time.isoformat()} {call.customer_timezone}"
            )

    # Emails, as the SMTP server counted them.
    received = [(r.rcpt_tos, _message_id(r.message["Message-ID"])) for r in smtp.received]
    report.messages_received = len(received)
    by_message_id = Counter(mid for _, mid in received)
    report.resent_emails = [f"{mid} x{n}" for mid, n in by_message_id.items() if n > 1]
    # Every callout and every standalone email mails an address of its own: one callout (or
    # standalone address), one email row, one Message-ID received at most. A callout is also
    # checked by its id, so that a second email to another address would count.
    owner_of = {c.contact_email: c.id for c in callouts}
    ids_by_owner: dict[str, set[str]] = {}
    for recipients, mid in received:
        for recipient in recipients:
            ids_by_owner.setdefault(owner_of.get(recipient, recipient), set()).add(mid)
    rows_by_owner = Counter(e.callout_id or e.recipient_email for e in emails)
    for owner in sorted(set(ids_by_owner) | set(rows_by_owner)):
        ids, rows = len(ids_by_owner.get(owner, ())), rows_by_owner[owner]
        if ids > 1 or rows > 1:
            report.extra_emails.append(f"{owner}: {rows} email rows, {ids} messages")
    for e in emails:
        times = by_message_id.get(_message_id(e.message_id), 0)
        if e.status == "delivered" and times == 0:
            report.missing_emails.append(f"{e.id}: delivered but never received")
        if e.status == "unconfirmed":
            report.unconfirmed.append(f"{e.id}: received {times} time(s)")
            report.unconfirmed_received += times > 0


# The events that end an object: those of its final statuses. ``email.unconfirmed`` ends an
# email only when it stays unconfirmed (a late reply may still deliver or bounce it).
_ENDS = {
    "callout": {f"callout.{s}" for s in CALLOUT_FINISHED},
    "email": {f"email.{s}" for s in (*EMAIL_FINAL, EmailStatus.UNCONFIRMED)},
    "call": {f"call.{s}" for s in CALL_FINAL},
}


async def terminal_event_problems(conn: AsyncConnection) -> list[str]:
    """Every callout, email and call whose end the event log tells wrongly, one line each.

    A finished callout has exactly one terminal event, of its final status (``callout.<status>``),
    and an unfinished one none; so has an email (delivered, bounced, failed, cancelled; one left
    unconfirmed has its one ``email.unconfirmed`` and no other end); a call has at most one final
    event, and one of its final status when it ended. The terminal event's snapshot shows the
    status its type names."""
    ends = sorted(set().union(*_ENDS.values()))
    found = await conn.execute(
        select(Event.object_id, Event.type, Event.data["status"].as_string())
        .where(Event.type.in_(ends))
        .order_by(Event.id)
    )
    ends_of: dict[str, list[str]] = {}
    problems: list[str] = []
    for object_id, type_, shown in found:
        ends_of.setdefault(object_id, []).append(type_)
        if shown != type_.split(".", 1)[1]:
            problems.append(f"{object_id}: {type_} shows status {shown}")
    objects = [
        ("callout", select(Callout.id, Callout.status), CALLOUT_FINISHED),
        ("email", select(Email.id, Email.status), EMAIL_FINAL | {EmailStatus.UNCONFIRMED}),
        ("call", select(Call.id, Call.status), CALL_FINAL),
    ]
    for kind, statuses, final in objects:
        for object_id, status in await conn.execute(statuses):
            seen = ends_of.get(object_id, [])
            if kind == "email" and status != EmailStatus.UNCONFIRMED:
                # Unconfirmed on the way (a late reply settled it): not its end.
                seen = [t for t in seen if t != "email.unconfirmed"]
            expected = [f"{kind}.{status}"] if status in final else []
            if seen != expected:
                problems.append(f"{object_id} ({kind} {status}): end events {seen or 'none'}")
    return problems


def _message_id(value: object) -> str:
    return str(value).strip().strip("<>")
