"""The process's metrics. In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before start)
prometheus-client keeps each value in a file of that folder, and ``/metrics`` sums every
process's files; otherwise they live in this process's memory."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

# Latency buckets for an API whose replies take a few milliseconds: fine below 100 ms.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# How late a callout is claimed after it became due: the poll interval up to minutes behind.
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

REQUESTS = Counter(
    "credira_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "credira_http_request_duration_seconds",
    "Time from a request's arrival to the end of its reply, by method and route template",
    ["method", "route"],
    buckets=REQUEST_BUCKETS,
)
EVENTS = Counter("credira_events_total", "Events committed to the event log, by type", ["type"])
CALLOUTS_FINISHED = Counter(
    "credira_callouts_finished_total",
    "Callouts that reached an end (completed, failed, cancelled)",
    ["status"],
)
CALLS = Counter(
    "credira_calls_total",
    "Call attempts that ended, by outcome (completed, no_answer, busy, failed, voicemail...)",
    ["outcome"],
)
EMAILS = Counter(
    "credira_emails_total",
    "Emails that ended, by outcome (delivered, bounced, unconfirmed, failed, cancelled)",
    ["outcome"],
)
PROVIDER_ERRORS = Counter(
    "credira_voice_provider_errors_total",
    "Call attempts the voice provider failed (could not place, follow or finish the call)",
)
SMTP_ERRORS = Counter(
    "credira_email_delivery_errors_total",
    "Refusals by the mail server: deferred (temporary, retried), bounced (permanent), "
    "failed (temporary on every attempt)",
    ["kind"],
)
CLAIM_LATENESS = Histogram(
    "credira_worker_claim_lateness_seconds",
    "From the moment a callout was due to the start of its run by a worker",
    buckets=LATENESS_BUCKETS,
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    """What this process exports of the in-process metrics: its own, or every process's."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
