"""Event tests run the app with its embedded worker and a fast simulator, so that the objects
they follow really move."""

from __future__ import annotations

from pathlib import Path

import pytest

from credira.config import Settings
from tests.support import ADMIN_KEY


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        public_url="http://testserver",
        embedded_worker=True,
        worker_poll_seconds=0.05,
        simulator_time_scale=0.2,
    )
