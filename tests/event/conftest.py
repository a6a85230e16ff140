"""Event tests run the app with its embedded worker and a fast simulator, so that the objects
they follow really move."""

from __future__ import annotations

from pathlib import Path

import pytest

from credira.config import Settings
from tests.support import worker_app_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return worker_app_settings(database_url, tmp_path / "data")
