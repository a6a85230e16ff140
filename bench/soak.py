# ruff: noqa: S603  (runs our own processes: credira)
"""The soak: mixed API load and worker traffic for minutes, then errors and memory growth.

    python -m bench.soak                            # 10 minutes on SQLite
    python -m bench.soak --db postgresql            # 10 minutes on PostgreSQL, two workers
    python -m bench.soak --minutes 0.5 --sample-seconds 1      # a smoke run

Real processes: ``credira serve`` (embedded worker on, the simulator fast) and, with
``--worker separate|both`` (the default on PostgreSQL), a ``credira worker`` beside it; an SMTP
server (aiosmtpd) in this process receives every email; the load generator (bench/loadgen.py)
runs in its own process at a fixed rate (open loop). The RSS of each Credira process is sampled
every few seconds. It prints a markdown section for bench/RESULTS.md (appended with
``--append``), writes the JSON to bench/results/, and exits 1 unless every check passes: no
error of any kind, the worker kept up, and memory flat after the warm-up. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench import dbs, machine, seed
from bench.probe import Probe
from bench.servers import (
    CREDIRA,
    ROOT,
    Server,
    environment,
    free_port,
    load,
    memory,
    ready,
    spawn_credira,
)
from bench.soak_mix import DEFAULT_RATE, FRESH, MIX, Fixture, pool, schedule, seed_rows
from bench.soak_verdict import judge, log_errors, markdown, trend

HERE = Path(__file__).resolve().parent
# Far above the offered load: rate limits stay on (their cost is part of every request).
UNLIMITED = {
    "CREDIRA_RATE_LIMIT_PER_KEY": "1000000/second",
    "CREDIRA_RATE_LIMIT_PER_ACCOUNT": "1000000/second",
    "CREDIRA_RATE_LIMIT_CREATE_CALL": "1000000/minute",
}


# -- the SMTP server ----------------------------------------------------------------------------


@dataclass
class Inbox:
    """Counts what an aiosmtpd server receives, by Message-ID (a duplicate would show)."""

    message_ids: Counter[str] = field(default_factory=Counter)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.message_ids[str(message["Message-ID"])] += 1
        return "250 2.0.0 Ok: queued"


# -- processes ----------------------------------------------------------------------------------


def start_worker(db: dbs.Database, logs: Path, env: dict[str, str]) -> Server:
    log = logs / f"worker-{db.kind}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CREDIRA, "worker"],
            env=environment(db, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return Server(f"worker-{db.kind}", process, 0, log)


def wait_running(worker: Server, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while "running on" not in worker.log.read_text(errors="replace"):
        if worker.process.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker did not start: {worker.log.read_text()[-2000:]}")
        time.sleep(0.1)


def payment_template(server: Server, fx: Fixture) -> str:
    url = f"http://127.0.0.1:{server.port}/v1/email-templates?account_id={fx.tenant.account_id}"
    ask = urllib.request.Request(url, headers={"Authorization": f"Bearer {fx.tenant.key}"})
    with urllib.request.urlopen(ask, timeout=10) as reply:  # noqa: S310 - our own server
        templates = json.load(reply)["data"]
    return str(next(t["id"] for t in templates if t["category"] == "payment_reminder"))


# -- the run ------------------------------------------------------------------------------------


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="load duration (10)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--worker",
        choices=("embedded", "separate", "both"),
        default=None,
        help="embedded: in serve; separate: a `credira worker` only; both (default: embedded "
        "on SQLite, both on PostgreSQL)",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help=f"requests per second ({DEFAULT_RATE:g})"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="connections (16)")
    parser.add_argument(
        "--warmup-minutes", type=float, default=None, help="default: a quarter, at most 2"
    )
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling (5)")
    parser.add_argument(
        "--max-growth-mb", type=float, default=10.0, help="flat: fitted growth below (10)"
    )
    parser.add_argument("--drain-seconds", type=float, default=60.0, help="for the backlog (60)")
    parser.add_argument("--time-scale", default="0.01", help="simulator time scale (0.01)")
    parser.add_argument("--out", type=Path, default=None, help="JSON (bench/results/soak-*.json)")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--logs", type=Path, default=None, help="process logs (a temp folder)")
    args = parser.parse_args(argv)
    args.worker = args.worker or ("embedded" if args.db == "sqlite" else "both")
    if args.warmup_minutes is None:
        args.warmup_minutes = min(2.0, args.minutes / 4)
    return args


def say(began: float, text: str) -> None:
    print(f"[{time.monotonic() - began:6.1f}s] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    began = time.monotonic()
    if args.db == "postgresql" and (why := dbs.postgres_available()) is not None:
        say(began, why)
        return 2
    meta = machine.describe(dbs.ADMIN_URL if args.db == "postgresql" else None)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="credira-soak-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    say(began, f"{args.db}, worker {args.worker}, {args.minutes} min at {args.rate}/s; logs {logs}")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with dbs.fresh_database(args.db, "soak") as db:
            result = run(db, logs, args, inbox, smtp.port, lambda text: say(began, text))
    finally:
        smtp.stop()
    meta["load_average_end"] = os.getloadavg()
    result = {"meta": meta, **result, "seconds": time.monotonic() - began}
    out = args.out or HERE / "results" / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    section = markdown(result)
    print(section)
    say(began, f"results: {out}")
    if args.append:
        with (HERE / "RESULTS.md").open("a") as f:
            f.write("\n" + section)
        say(began, "appended to bench/RESULTS.md")
    return 0 if result["passed"] else 1


def run(
    db: dbs.Database,
    logs: Path,
    args: argparse.Namespace,
    inbox: Inbox,
    smtp_port: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    seconds = args.minutes * 60
    count = math.ceil(args.rate * seconds) + 1
    plan = schedule(MIX, count)
    tenant = seed.create_tenant(db)
    fx = seed_rows(db, tenant, sum(1 for kind in plan if kind in FRESH))
    env = {
        **UNLIMITED,
        "CREDIRA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CREDIRA_SIMULATOR_TIME_SCALE": args.time_scale,
        "CREDIRA_SIMULATOR_RECORDINGS": "false",  # espeak-ng would be measured, not Credira
        "CREDIRA_LOG_JSON": "true",
    }
    embedded = "true" if args.worker in ("embedded", "both") else "false"
    server = spawn_credira(db, logs, CREDIRA_EMBEDDED_WORKER=embedded, **env)
    processes = [server]
    if args.worker in ("separate", "both"):
        processes.append(start_worker(db, logs, env))
    try:
        ready(server)
        for worker in processes[1:]:
            wait_running(worker)
        fx.template_id = payment_template(server, fx)
        spec = {
            "host": "127.0.0.1",
            "port": server.port,
            "concurrency": args.concurrency,
            "warmup": 0,
            "duration": seconds,
            "rate": args.rate,
            "headers": {"Authorization": f"Bearer {tenant.key}"},
            "requests": pool(plan, fx),
        }
        progress(f"load for {args.minutes} min; processes {[p.name for p in processes]}")
        samples, counts, died, http = _load_and_sample(spec, processes, args, progress)
        progress("load done; waiting for the worker to finish what is due")
        work, drain = _drain(db, args.drain_seconds)
    finally:
        for process in processes:
            process.stop()
    warmup = args.warmup_minutes * 60
    procs = {
        p.name: {
            "pid": p.pid,
            "died_during_run": p.name in died,
            "exit_status": p.process.returncode,
            "at_start_mb": samples[p.name][0][1] if samples[p.name] else None,
            "memory": {
                **trend(samples[p.name], warmup, seconds),
                **_peak(samples[p.name]),
                "threads_after_warmup": sorted(
                    {n for t, n in counts[p.name] if warmup <= t <= seconds}
                ),
            },
            "log": str(p.log),
            **log_errors(p.log),
            "samples": samples[p.name],
            "threads": counts[p.name],
        }
        for p in processes
    }
    received = sum(inbox.message_ids.values())
    work["smtp_received"] = received
    work["smtp_duplicates"] = sum(n - 1 for n in inbox.message_ids.values() if n > 1)
    work["drain_seconds"] = drain
    config = {
        k: v for k, v in vars(args).items() if k not in ("out", "append", "logs") and v is not None
    }
    config.update(
        mix=MIX, fresh=FRESH, simulator_time_scale=args.time_scale, requests_planned=count
    )
    checks = judge(http, work, procs, args)
    return {
        "db": db.kind,
        "config": config,
        "http": http,
        "work": work,
        "processes": procs,
        "checks": checks,
        "passed": all(c["ok"] for c in checks),
    }


def _peak(points: list[tuple[float, float]]) -> dict[str, Any]:
    return {"highest_sample_mb": max((mb for _, mb in points), default=None)}


def threads(pid: int) -> int:
    """The process's thread count: SQLite connections each have a thread (aiosqlite), so a
    step in memory that comes with more threads is the pool opening connections."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _load_and_sample(
    spec: dict[str, Any],
    processes: list[Server],
    args: argparse.Namespace,
    progress: Callable[[str], None],
) -> tuple[
    dict[str, list[tuple[float, float]]],
    dict[str, list[tuple[float, int]]],
    set[str],
    dict[str, Any],
]:
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            outcome["result"] = load(spec)
        except Exception as exc:  # reported as an error of the run
            outcome["error"] = f"{type(exc).__name__}: {exc}"[:2000]

    samples: dict[str, list[tuple[float, float]]] = {p.name: [] for p in processes}
    counts: dict[str, list[tuple[float, int]]] = {p.name: [] for p in processes}
    died: set[str] = set()
    thread = threading.Thread(target=drive, daemon=True)
    start = time.monotonic()
    thread.start()
    next_note = 60.0
    while True:
        elapsed = time.monotonic() - start
        for p in processes:
            if p.process.poll() is None:
                samples[p.name].append((round(elapsed, 2), round(memory(p.pid)["rss_mb"], 2)))
                counts[p.name].append((round(elapsed, 2), threads(p.pid)))
            elif p.name not in died:
                died.add(p.name)
                progress(f"{p.name} exited with status {p.process.returncode} during the run")
        if elapsed >= next_note:
            now = ", ".join(f"{n} {s[-1][1]:.1f} MB" for n, s in samples.items() if s)
            progress(f"{elapsed / 60:.0f} min: {now}")
            next_note += 60.0
        thread.join(timeout=args.sample_seconds)
        if not thread.is_alive():
            break
    http: dict[str, Any] = outcome.get("result") or {
        "errors": 1,
        "status": {},
        "error_sample": outcome.get("error", "the load generator gave no result"),
    }
    return samples, counts, died, http


def _drain(db: dbs.Database, within: float) -> tuple[dict[str, Any], float]:
    """Wait until the callouts and emails the load made due are finished (or ``within`` s),
    then count them."""
    probe = Probe(db)
    fresh = "SELECT id FROM invoices WHERE number LIKE 'INV-92%'"
    pending = (
        f"SELECT count(*) FROM callouts WHERE invoice_id IN ({fresh}) "  # noqa: S608
        "AND status NOT IN ('completed', 'failed', 'cancelled')"
    )
    # An email counts as pending until its outcome is recorded: one the mail server has just
    # taken is "sent" for a moment, until the worker writes down what the server answered.
    pending_emails = "SELECT count(*) FROM emails WHERE status IN ('scheduled', 'sending', 'sent')"
    began = time.monotonic()
    try:
        while time.monotonic() - began < within:
            emails = probe.value(pending_emails)
            if int(probe.value(pending)) == 0 and int(emails) == 0:
                break
            time.sleep(1.0)
        waited = time.monotonic() - began

        def by(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in probe.rows(sql)}

        work = {
            "callouts": by(
                f"SELECT status, count(*) FROM callouts WHERE invoice_id IN ({fresh}) "  # noqa: S608
                "GROUP BY status"
            ),
            "held": by(
                f"SELECT hold_reason, count(*) FROM callouts WHERE invoice_id IN ({fresh}) "  # noqa: S608
                "AND hold_reason IS NOT NULL GROUP BY hold_reason"
            ),
            "calls": by("SELECT status, count(*) FROM calls GROUP BY status"),
            "emails": by("SELECT status, count(*) FROM emails GROUP BY status"),
            "simulated_calls": int(probe.value("SELECT count(*) FROM simulator_calls")),
            "backlog": int(probe.value(pending)) + int(probe.value(pending_emails)),
        }
    finally:
        probe.close()
    return work, waited


if __name__ == "__main__":
    sys.exit(main())
