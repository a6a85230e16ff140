"""The API part of the RESULTS.md section (``bench/report.py``) on made-up figures: the ratios to
the floor come first and the targets of issue 20 are marked from them, and a run without the
floor (results written before it existed) still reads."""

from __future__ import annotations

from typing import Any

from bench import report
from bench.api import ENDPOINTS


def _figure(rps: float, p50: float = 5.0, p99: float = 20.0) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "mean_ms": p50 * 1.2}


def _results(credira: dict[str, float], *, floor: bool = True) -> dict[str, Any]:
    small = {
        "credira": {ep: _figure(credira[ep], p50=8.0) for ep in ENDPOINTS},
        "baseline": {ep: _figure(2 * credira[ep], p50=4.0) for ep in ENDPOINTS},
    }
    if floor:
        small["floor"] = {ep: _figure(1000.0, p50=1.0) for ep in ENDPOINTS}
    paced = {"rate": 70.0, "rps": 70.0, "p50_ms": 3.0, "p99_ms": 12.0, "peak_rps": 100.0}
    api = {
        "figures": {"10000": small, "50000": {"credira": small["credira"]}},
        "paced": paced,
        "memory": {
            "idle": {"rss_mb": 120.0},
            "after_load": {"peak_mb": 130.0},
            "baseline_idle": {"rss_mb": 70.0},
        },
    }
    return {
        "meta": {
            "date": "2026-12-08",
            "commit": "0000000",
            "dirty": False,
            "packages": {},
            "cpu": "test",
            "cores": 2,
            "load_average_start": (1.0, 1.0, 1.0),
            "python": "3.11",
            "sqlite": "3",
            "postgresql": None,
        },
        "config": {
            "mode": "quick",
            "concurrency": 16,
            "warmup": 0.2,
            "duration": 0.8,
            "scale": (10_000, 50_000),
            "worker_window": 2.0,
        },
        "sqlite": {"api": api},
    }


def _targets(results: dict[str, Any]) -> dict[str, str]:
    return {target: sqlite for target, sqlite, _pg, _ in report.targets(results)}


GET_LIST = "GET by id and list req/s >= 0.25x the floor's"
PUT_POST = "PUT and POST req/s >= 0.15x the floor's"


def test_the_floor_targets_are_marked_from_the_floor_ratios() -> None:
    met = _targets(_results({"get": 300.0, "list": 250.0, "put": 150.0, "post": 200.0}))
    assert met[GET_LIST] == "met (GET 0.30, LIST 0.25)"
    assert met[PUT_POST] == "met (PUT 0.15, POST 0.20)"
    missed = _targets(_results({"get": 300.0, "list": 240.0, "put": 140.0, "post": 900.0}))
    assert missed[GET_LIST] == "**missed** (GET 0.30, LIST 0.24)"
    assert missed[PUT_POST] == "**missed** (PUT 0.14, POST 0.90)"


def test_the_floor_table_comes_before_the_baseline_table() -> None:
    text = report.markdown(_results({"get": 300.0, "list": 250.0, "put": 150.0, "post": 200.0}))
    floor, baseline = text.index("against the floor"), text.index("same-stack baseline")
    assert floor < baseline
    # Credira 300 req/s against the floor's 1,000: 0.30, in bold; against the baseline's 600: 0.50.
    assert "| `GET /v1/callouts/{id}` | 300 | 1,000 | **0.30** |" in text[floor:baseline]
    assert "| `GET /v1/callouts/{id}` | 300 | 600 | 0.50 |" in text[baseline:]


def test_a_run_without_the_floor_still_reads() -> None:
    results = _results({"get": 300.0, "list": 250.0, "put": 150.0, "post": 200.0}, floor=False)
    text = report.markdown(results)
    assert "against the floor" not in text
    assert "same-stack baseline" in text
    assert _targets(results)[GET_LIST] == "-"
