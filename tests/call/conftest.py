"""The calls API tests share one app per test module and backend (``shared_app`` of the root
conftest): every case works in a tenant of its own. A module that sets ``EMBEDDED_WORKER = True``
gets the app with its embedded worker; either way the worker and simulator run fast.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def shared_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {
        "embedded_worker": bool(getattr(request.module, "EMBEDDED_WORKER", False)),
        "worker_poll_seconds": 0.05,
        "simulator_time_scale": 0.2,
        # These tests pin the documented shapes without a text-to-speech engine; recordings
        # have their own tests (tests/worker/test_recordings.py).
        "simulator_recordings": False,
    }
