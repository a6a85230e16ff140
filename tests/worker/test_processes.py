"""Real worker processes against one PostgreSQL database: exactly-once, and takeover after a
SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import zone_in_calling_hours
from tests.worker.seeding import seed_due_callouts, tally

CREDIRA = str(Path(sys.executable).parent / "credira")


def start_worker(url: str, tmp_path: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "CREDIRA_DATABASE_URL": url,
        "CREDIRA_DATA_DIR": str(tmp_path / name),
        "CREDIRA_LOG_LEVEL": "warning",
        # Speaking thousands of transcripts aloud would measure espeak-ng, not the workers.
        "CREDIRA_SIMULATOR_RECORDINGS": "false",
        **env,
    }
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [CREDIRA, "worker"], env=environment, stdout=log, stderr=subprocess.STDOUT
        )


async def wait_for(url: str, done: int, within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await tally(url)
        if counts.get("callouts_completed", 0) + counts.get("callouts_failed", 0) >= done:
            return counts
        await asyncio.sleep(0.5)
    raise AssertionError(f"not finished in {within}s: {counts}")


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def pg(backend: str, database_url: str) -> str:
    if backend != "postgresql":
        pytest.skip("several worker processes share one PostgreSQL database")
    return database_url


async def test_two_workers_run_each_of_1000_callouts_exactly_once(pg: str, tmp_path: Path) -> None:
    await seed_due_callouts(pg, 1000, zone=zone_in_calling_hours())
    fast = {"CREDIRA_SIMULATOR_TIME_SCALE": "0.05", "CREDIRA_WORKER_CONCURRENCY": "200"}
    workers = [start_worker(pg, tmp_path, f"w{i}", **fast) for i in range(2)]
    try:
        counts = await wait_for(pg, 1000, within=120)
    finally:
        stop(*workers)
    assert counts["callouts_completed"] == 1000
    assert counts["calls"] == counts["placed"] == counts["simulated"] == 1000
    assert counts["callouts_with_two_calls"] == 0
    for i in range(2):
        assert "Traceback" not in (tmp_path / f"w{i}.log").read_text()


async def test_a_killed_worker_is_taken_over_without_dialling_twice(
    pg: str, tmp_path: Path
) -> None:
    await seed_due_callouts(pg, 200, zone=zone_in_calling_hours())
    # Calls last about 1.6 s, so the kill lands while many are in progress.
    common = {"CREDIRA_SIMULATOR_TIME_SCALE": "1.0", "CREDIRA_WORKER_LEASE_SECONDS": "3"}
    victim = start_worker(pg, tmp_path, "victim", **common)
    try:
        deadline = time.monotonic() + 30
        while (await tally(pg))["placed"] < 50:
            assert time.monotonic() < deadline, "the first worker placed no calls"
            await asyncio.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        before = await tally(pg)
        assert before.get("callouts_active", 0) > 0, before
    finally:
        stop(victim)
    heir = start_worker(pg, tmp_path, "heir", **common)
    try:
        counts = await wait_for(pg, 200, within=90)
    finally:
        stop(heir)
    assert counts["callouts_completed"] == 200
    assert counts["calls"] == counts["placed"] == counts["simulated"] == 200
    assert counts["callouts_with_two_calls"] == 0
