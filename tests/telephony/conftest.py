"""Telephony tests run the app with its embedded worker; a provider's API is a local fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from credira.config import Settings
from tests.support import worker_app_settings

# The adapters' request timeout: the local fakes answer well within it on a loaded host (load
# 8-10 on 2 cores delays a loopback connect by most of a second). A test whose subject is a
# request that times out says its own, short, with ``@pytest.mark.provider_timeout(seconds)``.
REQUEST_TIMEOUT = 5.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "provider_timeout(seconds): the adapters' request timeout in this test"
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("provider_timeout")
    timeout = float(marker.args[0]) if marker is not None else REQUEST_TIMEOUT
    return worker_app_settings(database_url, tmp_path / "data").model_copy(
        # Transcripts classified in the worker's own process: a process of its own per test
        # would cost more than the few calls it classifies.
        update={
            "provider_timeout_seconds": timeout,
            "provider_poll_seconds": 0.5,
            "worker_analysis_processes": 0,
        }
    )
