"""The soak command (``python -m bench.soak``, see bench/README.md) run for a few seconds: real
``credira serve`` (and, on PostgreSQL, a ``credira worker`` beside it), mixed API traffic from
the load generator, emails to an SMTP server; it must report zero errors and every callout done.

Memory flatness is judged by the 10-minute run, whose numbers are recorded in bench/RESULTS.md:
in the first seconds a process is still warming up (caches, connection pools), so here the
limit is loose and only the report's shape is checked. The judging itself is tested below on
made-up figures, so a check that stopped failing would be caught.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench import soak_mix, soak_verdict

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 18


def _soak(db: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--db",
            db,
            "--minutes",
            str(SECONDS / 60),
            "--warmup-minutes",
            "0.1",
            "--sample-seconds",
            "1",
            "--max-growth-mb",
            "60",
            "--drain-seconds",
            "20",
            "--out",
            str(out),
            "--logs",
            str(tmp_path / "logs"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert out.exists(), result.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return result, report


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_a_short_soak_reports_zero_errors_and_every_callout_done(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if db == "postgresql":
        # Skips outside CI (fails in CI) when no PostgreSQL server answers; the soak makes a
        # database of its own on that server.
        request.getfixturevalue("postgres_url")

    result, report = _soak(db, tmp_path)

    failed = [c for c in report["checks"] if not c["ok"]]
    assert result.returncode == 0, (failed, result.stderr[-3000:])
    assert report["passed"] is True
    http = report["http"]
    assert http["errors"] == 0, http["error_sample"]
    assert http["requests"] >= 0.95 * soak_mix.DEFAULT_RATE * SECONDS
    assert set(http["by_kind"]) == set(soak_mix.MIX)
    for kind, counts in http["by_kind"].items():
        assert all(status.startswith("2") for status in counts), (kind, counts)
    made = sum(http["by_kind"][kind].get("201", 0) for kind in soak_mix.FRESH)
    work = report["work"]
    assert work["callouts"] == {"completed": made}
    assert work["calls"] == {"completed": made}
    assert work["simulated_calls"] == made
    assert work["backlog"] == 0
    emails = sum(work["emails"].values())
    assert emails == work["emails"].get("delivered", 0) == work["smtp_received"] > 0
    assert work["smtp_duplicates"] == 0
    names = {
        "sqlite": {"credira-sqlite"},
        "postgresql": {"credira-postgresql", "worker-postgresql"},
    }
    assert set(report["processes"]) == names[db]
    for process in report["processes"].values():
        assert process["errors"] == {}
        assert len(process["samples"]) >= SECONDS // 2
        assert process["memory"]["samples"] >= 3
    assert "## Soak " in result.stdout
    assert "· PASS" in result.stdout
    assert "| memory flat: " in result.stdout


# -- the verdict, on made-up figures ---------------------------------------------------------


def _args(**overrides: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"max_growth_mb": 10.0, **overrides})


def _clean() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    http = {"errors": 0, "status": {"200": 900, "201": 100}, "error_sample": None}
    work = {
        "callouts": {"completed": 50},
        "calls": {"completed": 50},
        "emails": {"delivered": 80},
        "held": {},
        "backlog": 0,
        "smtp_received": 80,
        "smtp_duplicates": 0,
        "drain_seconds": 1.0,
    }
    flat = [(float(t), 120.0 + (t % 3) * 0.5) for t in range(0, 600, 5)]
    procs = {
        "serve": {
            "died_during_run": False,
            "exit_status": -15,
            "errors": {},
            "memory": soak_verdict.trend(flat, 120, 600),
        }
    }
    return http, work, procs


def _failed(http: dict[str, Any], work: dict[str, Any], procs: dict[str, Any]) -> list[str]:
    return [c["check"] for c in soak_verdict.judge(http, work, procs, _args()) if not c["ok"]]


def test_a_clean_run_passes_every_check() -> None:
    assert _failed(*_clean()) == []


def test_a_server_error_or_a_dropped_request_fails_the_run() -> None:
    http, work, procs = _clean()
    http.update(errors=2, status={"200": 900, "500": 1}, error_sample="boom")

    assert _failed(http, work, procs) == [
        "HTTP errors (any 5xx or 4xx, connection errors, requests dropped)"
    ]


def test_a_leak_fails_the_run_and_noise_does_not() -> None:
    http, work, procs = _clean()
    # 2 MB a minute over 8 minutes: 16 MB, above the 10 MB limit.
    leaking = [(float(t), 120.0 + t / 30 + (t % 3)) for t in range(0, 600, 5)]
    procs["serve"]["memory"] = soak_verdict.trend(leaking, 120, 600)

    assert _failed(http, work, procs) == ["memory flat: serve"]
    assert procs["serve"]["memory"]["slope_mb_per_min"] == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("backlog", 3),
        ("smtp_received", 79),
        ("smtp_duplicates", 1),
        ("callouts", {"completed": 49, "failed": 1}),
    ],
)
def test_worker_trouble_fails_the_run(change: str, value: Any) -> None:
    http, work, procs = _clean()
    work[change] = value

    assert _failed(http, work, procs) == [
        "worker: nothing failed, nothing left behind, every email received once"
    ]


def test_a_logged_error_or_a_crash_fails_the_run() -> None:
    http, work, procs = _clean()
    procs["serve"]["errors"] = {"callout.run.failed": 1}
    procs["worker"] = {**procs["serve"], "errors": {}, "died_during_run": True, "exit_status": 1}

    assert _failed(http, work, procs) == [
        "errors logged (error level, tracebacks)",
        "processes ran to the end and stopped cleanly on SIGTERM",
    ]
