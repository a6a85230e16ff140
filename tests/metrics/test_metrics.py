"""``GET /metrics``: the Prometheus text format, read back with prometheus-client's own parser;
the counters move when a callout runs; the token guards it when set."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from credira.config import Settings
from tests.support import Api, eventually, worker_app_settings, zone_in_calling_hours

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The SSRF guard lets the test's receivers on 127.0.0.1 through.
    return worker_app_settings(database_url, tmp_path / "data").model_copy(
        update={"webhook_allow_networks": "127.0.0.0/8"}
    )


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_counters_move_when_a_callout_runs(client: httpx.AsyncClient, api: Api) -> None:
    before = await scrape(client)
    tenant = await api.tenant()
    zone = zone_in_calling_hours()
    invoice = await tenant.invoice(
        customer={
            "name": "Jo",
            "email": "jo@example.com",
            "phone": "+14155550100",
            "timezone": zone,
        }
    )
    agent = await tenant.agent()
    callout = await tenant.callout(
        invoice["id"], agent["id"], scheduled_time="2020-01-01T00:00:00Z"
    )

    async def finished() -> bool:
        data = (await tenant.ok("GET", f"/v1/callouts/{callout['id']}"))["data"]
        return bool(data["status"] == "completed")

    await eventually(finished, within=20)
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("credira_callouts_finished_total", status="completed") == 1
    assert moved("credira_calls_total", outcome="completed") == 1
    assert moved("credira_events_total", type="callout.active") == 1
    assert moved("credira_worker_claim_lateness_seconds_count") == 1
    # Due since 2020: its lateness is years, in the last bucket only.
    assert moved("credira_worker_claim_lateness_seconds_bucket", le="3600.0") == 0
    route = {"method": "POST", "route": "/v1/callouts"}
    assert moved("credira_http_requests_total", status="201", **route) == 1
    assert moved("credira_http_request_duration_seconds_count", **route) == 1
    assert moved("credira_http_requests_total", method="GET", route="/health", status="200") == 0
    # The database's gauges: this test's database holds the one callout.
    assert value(after, "credira_callouts", status="completed") == 1
    assert value(after, "credira_callouts", status="scheduled") == 0
    assert value(after, "credira_callouts_due") == 0
    assert ("credira_webhook_oldest_undelivered_seconds", frozenset()) in after


async def test_unknown_paths_share_one_series(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for n in range(3):
        assert (await client.get(f"/no/such/{n}")).status_code == 404
    after = await scrape(client)
    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert (
        value(after, "credira_http_requests_total", **labels)
        - value(before, "credira_http_requests_total", **labels)
        == 3
    )
    assert not [key for key in after if ("route", "/no/such/1") in key[1]]


@pytest.fixture
def guarded(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": "s3cret-metrics-token"})


async def test_the_token_guards_metrics(guarded: Settings) -> None:
    from tests.conftest import _client_of, _running

    async with _running(guarded) as app, _client_of(app) as client:
        assert isinstance(app, FastAPI)
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHORIZED"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert await scrape(client, Authorization="Bearer s3cret-metrics-token")


async def test_webhook_deliveries_are_counted(client: httpx.AsyncClient, api: Api) -> None:
    from tests.webhook.receiver import Receiver

    tenant = await api.tenant()
    async with Receiver() as receiver:
        await tenant.created("/v1/webhooks", {"url": receiver.url, "event_types": ["invoice.*"]})
        await tenant.invoice()

        async def delivered() -> bool:
            samples = await scrape(client)
            return value(samples, "credira_webhook_deliveries", result="delivered") >= 1

        await eventually(delivered, within=20)
