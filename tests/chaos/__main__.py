"""The full chaos run: thousands of callouts (a call and an email each) and standalone emails on
PostgreSQL, worker processes SIGKILLed at random and restarted, the database taken away twice.

    python -m tests.chaos --restart-postgres   # the full run: 3000 callouts, 300 night, 500 emails
    python -m tests.chaos                      # the same, the database cut through a proxy
    python -m tests.chaos --callouts 300 --emails 60 --chaos-seconds 20   # the CI size

It needs a PostgreSQL server (``CREDIRA_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``): a database ``credira_chaos_<pid>`` is created,
migrated, used and dropped (``--keep`` keeps it).

``--restart-postgres`` restarts the PostgreSQL server itself at each ``--cuts-at`` second
(``pg_ctlcluster --skip-systemctl-redirect <version> main restart``, the version being the
cluster in /etc/postgresql listening on the URL's port) and goes on once it accepts connections.
It needs root and a local Debian-packaged cluster, and refuses to start otherwise. A restart
ends every session on the server, other users' too: do not use it on a server others are
testing on. Without it (the default, and CI's) a TCP proxy in front of the server drops every
worker connection and refuses new ones for ``--cut-seconds``: to a client a restart looks the
same, and the server is left alone.

It prints a report (callouts, kills, PostgreSQL restarts, lost, duplicates, reconciliations,
...) and exits 1 when anything was lost or sent twice. What each count means:
tests/chaos/harness.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from credira.db import migrate
from tests.chaos.harness import CannotRestart, ChaosConfig, Report, restart_target, run_chaos

PG_URL = os.environ.get("CREDIRA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--callouts", type=int, default=3000, help="due now, in calling hours")
    parser.add_argument("--night", type=int, default=300, help="due now where it is night")
    parser.add_argument("--emails", type=int, default=500, help="standalone (POST /send-email)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--kill-every", type=float, nargs=2, default=(2.0, 5.0), metavar=("MIN", "MAX")
    )
    parser.add_argument(
        "--restart-postgres",
        action="store_true",
        help="restart the local PostgreSQL server itself (root; ends every session on it) "
        "instead of cutting the workers' connections through a proxy",
    )
    parser.add_argument(
        "--cuts-at",
        type=float,
        nargs="+",
        default=(15.0, 45.0),
        metavar="S",
        help="seconds into the run at which the database is cut (or restarted)",
    )
    parser.add_argument(
        "--cut-seconds", type=float, default=2.0, help="proxy cut: connections refused for"
    )
    parser.add_argument("--chaos-seconds", type=float, default=90.0, help="kills stop after")
    parser.add_argument("--deadline", type=float, default=900.0, help="give up after (seconds)")
    parser.add_argument("--lease", type=float, default=10.0, help="worker lease (seconds)")
    parser.add_argument("--time-scale", type=float, default=0.5, help="simulator speed")
    parser.add_argument("--concurrency", type=int, default=50, help="per worker")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--folder", type=Path, default=None, help="worker logs (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _print(report: Report, as_json: bool) -> None:
    summary = report.summary()
    if as_json:
        print(json.dumps({**summary, "details": _details(report)}, indent=2))
        return
    width = max(map(len, summary))
    for name, value in summary.items():
        print(f"{name.ljust(width)}  {value}")
    for name, items in _details(report).items():
        if items:
            print(f"\n{name} ({len(items)}), first ones:")
            for item in items[:10]:
                print(f"  {item}")


def _details(report: Report) -> dict[str, list[str]]:
    return {
        "lost": report.lost,
        "duplicate calls": report.duplicate_calls,
        "emails sent twice (same Message-ID)": report.resent_emails,
        "extra emails (another Message-ID)": report.extra_emails,
        "delivered emails never received": report.missing_emails,
        "emails left unconfirmed (reconciliation)": report.unconfirmed,
        "calls outside the window": report.outside_window,
        "conversations without their effect": report.lost_outcomes,
        "ends the event log tells wrongly": report.terminal_events,
        "workers that died running": report.crashes,
        "errors the workers logged": report.worker_errors,
    }


def main() -> int:
    args = _arguments()
    config = ChaosConfig(
        callouts=args.callouts,
        night_callouts=args.night,
        emails=args.emails,
        workers=args.workers,
        kill_every=(args.kill_every[0], args.kill_every[1]),
        cuts_at=tuple(args.cuts_at),
        cut_seconds=args.cut_seconds,
        restart_postgres=args.restart_postgres,
        chaos_seconds=args.chaos_seconds,
        deadline_seconds=args.deadline,
        lease_seconds=args.lease,
        time_scale=args.time_scale,
        concurrency=args.concurrency,
        seed=args.seed,
    )
    name = f"credira_chaos_{os.getpid()}"
    base = PG_URL.rpartition("/")[0]
    url = "postgresql+asyncpg://" + f"{base}/{name}".split("://", 1)[1]
    if args.restart_postgres:
        try:
            target = restart_target(url)
        except CannotRestart as exc:
            print(f"--restart-postgres: cannot restart PostgreSQL: {exc}", file=sys.stderr)
            return 2
        print(f"will restart PostgreSQL {target.version}/{target.cluster}", file=sys.stderr)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade(url)
        folder = args.folder or Path(tempfile.mkdtemp(prefix="credira-chaos-"))
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"chaos run {started}: {config}\nlogs in {folder}", file=sys.stderr)
        report = asyncio.run(
            run_chaos(url, folder, config, say=lambda text: print(text, file=sys.stderr))
        )
    finally:
        if not args.keep:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _print(report, args.json)
    bad = (
        report.lost
        or report.duplicate_calls
        or report.resent_emails
        or report.extra_emails
        or report.missing_emails
        or report.outside_window
        or report.lost_outcomes
        or report.terminal_events
        or not report.finished
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
