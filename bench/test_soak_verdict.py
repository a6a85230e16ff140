"""The soak's verdict (``bench/soak_verdict.py``) on made-up figures, so that a check that
stopped failing would be caught; the soak itself runs for a few seconds in
``tests/chaos/test_soak.py``."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench import soak_verdict


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
