"""The conversation tests share one app per module with its embedded worker and a fast
simulator, on each database backend."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def shared_overrides() -> dict[str, Any]:
    return {
        "embedded_worker": True,
        "worker_poll_seconds": 0.05,
        "simulator_time_scale": 0.2,
        "public_url": "http://testserver",
    }
