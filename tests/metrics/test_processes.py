"""Several processes: with ``PROMETHEUS_MULTIPROC_DIR`` set, each process writes its metrics
to that folder and ``/metrics`` of a ``credira serve`` sums them (here: a real ``serve``, without
an embedded worker, whose API's own events are counted too)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.served import served
from tests.support import ADMIN_KEY, bearer


def test_serve_exports_the_multiprocess_folder(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    with served(
        tmp_path / "data",
        tmp_path / "serve.log",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        CREDIRA_EMBEDDED_WORKER="false",
    ) as base:
        for _ in range(3):
            httpx.get(f"{base}/health", timeout=5)
        user = {"email": "ops@acme.example", "name": "Ops", "company": "Acme"}
        made = httpx.post(f"{base}/v1/users", json=user, headers=bearer(ADMIN_KEY), timeout=5)
        key = made.json()["data"]["api_key"]
        invoice = {
            "number": "INV-1",
            "amount": "10.00",
            "currency": "USD",
            "due_date": "2030-01-30",
            "customer": {"name": "Ann", "email": "ann@example.com", "phone": "+14155550100"},
        }
        made = httpx.post(f"{base}/v1/invoices", json=invoice, headers=bearer(key), timeout=5)
        assert made.status_code == 201, made.text
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
    assert samples[("credira_events_total", (("type", "invoice.created"),))] == 1
