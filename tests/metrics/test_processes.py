"""Several processes: with ``PROMETHEUS_MULTIPROC_DIR`` set, each process writes its metrics
to that folder and ``/metrics`` of a ``credira serve`` sums them (here: a real ``serve``)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.served import served


def test_serve_exports_the_multiprocess_folder(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    with served(
        tmp_path / "data", tmp_path / "serve.log", PROMETHEUS_MULTIPROC_DIR=str(folder)
    ) as base:
        for _ in range(3):
            httpx.get(f"{base}/health", timeout=5)
        text = httpx.get(f"{base}/metrics", timeout=5).text
    assert list(folder.glob("counter_*.db")), "no process wrote its counters to the folder"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    health = (("method", "GET"), ("route", "/health"), ("status", "200"))
    assert samples[("credira_http_requests_total", health)] >= 3
    assert ("credira_callouts", (("status", "scheduled"),)) in samples
