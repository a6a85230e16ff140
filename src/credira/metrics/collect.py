"""The gauges of one scrape, read from the database (the same from every process), written
after the in-process metrics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.state import CalloutStatus
from credira.metrics import repository
from credira.metrics.webhooks import WebhookGauges, webhook_gauges


@dataclass(frozen=True)
class Snapshot:
    callouts: repository.CalloutGauges
    now: datetime
    webhooks: WebhookGauges | None = None
    extra: dict[str, float] = field(default_factory=dict)


async def snapshot(session: AsyncSession, now: datetime) -> Snapshot:
    return Snapshot(
        await repository.callout_gauges(session, now), now, await webhook_gauges(session, now)
    )


class SnapshotCollector(Collector):
    def __init__(self, taken: Snapshot) -> None:
        self.taken = taken

    def collect(self) -> Iterator[Metric]:
        callouts = self.taken.callouts
        by_status = GaugeMetricFamily(
            "credira_callouts", "Callouts in the database, by status", labels=["status"]
        )
        for status in CalloutStatus:
            by_status.add_metric([status.value], callouts.by_status.get(status.value, 0))
        yield by_status
        yield GaugeMetricFamily(
            "credira_callouts_due",
            "Scheduled callouts whose time has come and that no worker has claimed yet",
            value=callouts.due,
        )
        yield GaugeMetricFamily(
            "credira_callouts_held",
            "Scheduled callouts held by a calling rule or waiting for a retry (hold_reason)",
            value=callouts.held,
        )
        overdue = (
            max(0.0, (self.taken.now - callouts.oldest_due).total_seconds())
            if callouts.oldest_due is not None
            else 0.0
        )
        yield GaugeMetricFamily(
            "credira_callouts_due_oldest_seconds",
            "How long the most overdue unclaimed callout has been due (0: none waits)",
            value=overdue,
        )
        webhooks = self.taken.webhooks
        if webhooks is not None:
            deliveries = GaugeMetricFamily(
                "credira_webhook_deliveries",
                "Webhook deliveries in the database, by result",
                labels=["result"],
            )
            for result, n in sorted(webhooks.by_result.items()):
                deliveries.add_metric([result], n)
            yield deliveries
            yield GaugeMetricFamily(
                "credira_webhook_oldest_undelivered_seconds",
                "Age of the oldest event not yet delivered to an endpoint that wants it (0: none)",
                value=webhooks.oldest_undelivered_seconds,
            )
            attempts = GaugeMetricFamily(
                "credira_webhook_process_deliveries",
                "What this process's deliverer did since it started, by result",
                labels=["result"],
            )
            for result, n in sorted(webhooks.process_counts.items()):
                attempts.add_metric([result], n)
            yield attempts


def render(taken: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(taken))
    return generate_latest(registry)
