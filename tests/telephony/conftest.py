"""Telephony tests run the app with its embedded worker; a provider's API is a local fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from credira.config import Settings
from tests.support import worker_app_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return worker_app_settings(database_url, tmp_path / "data").model_copy(
        # Transcripts classified in the worker's own process: a process of its own per test
        # would cost more than the few calls it classifies.
        update={
            "provider_timeout_seconds": 0.5,
            "provider_poll_seconds": 0.5,
            "worker_analysis_processes": 0,
        }
    )
