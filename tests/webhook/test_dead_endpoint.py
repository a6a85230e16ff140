"""A receiver that never answers does not slow delivery to another endpoint: it holds at most
its share of the worker's requests, each until the timeout."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from credira.config import Settings
from tests.support import Api, eventually, worker_app_settings
from tests.webhook.conftest import FAST
from tests.webhook.receiver import Receiver, Reply
from tests.webhook.test_delivery import subscribe


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    update = {**FAST, "webhook_timeout_seconds": 10.0}
    return worker_app_settings(database_url, tmp_path / "data").model_copy(update=update)


async def test_a_receiver_that_never_answers_does_not_slow_another(api: Api) -> None:
    tenant = await api.tenant()
    made: dict[str, float] = {}
    async with (
        Receiver(lambda n: Reply(hang=True)) as dead,
        Receiver() as live,
    ):
        await subscribe(tenant, dead.url, "invoice.created")
        await subscribe(tenant, live.url, "invoice.created")
        for _ in range(40):
            invoice = await tenant.invoice()
            made[invoice["id"]] = time.monotonic()

        async def all_live() -> bool:
            return len(live.received) >= 40

        await eventually(all_live, within=20)
        assert len(dead.received) >= 20  # its share of the slots, every one left hanging
    # Each event reached the live receiver well within the dead one's 10 s timeout: none
    # waited for a slot the dead endpoint held.
    latencies = [r.at - made[json.loads(r.body)["data"]["object_id"]] for r in live.received]
    assert max(latencies) < 5.0, sorted(latencies)[-5:]
