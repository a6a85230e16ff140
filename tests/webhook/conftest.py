"""Webhook tests run the app with its embedded worker (which delivers), receivers on
127.0.0.1 let through the SSRF guard by its setting, and retries a fraction of a second
apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from credira.config import Settings
from tests.support import worker_app_settings

FAST = {
    "webhook_allow_networks": "127.0.0.0/8",
    "webhook_retry_seconds": "0.2,0.2,0.2,0.2",
    "webhook_timeout_seconds": 2.0,
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return worker_app_settings(database_url, tmp_path / "data").model_copy(update=FAST)
