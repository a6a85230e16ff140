"""``credira serve`` in a subprocess on a free port, for acceptance tests that need the real
command: started with a clean ``CREDIRA_*`` environment, waited for until ``/health`` answers,
and stopped (its log checked for tracebacks) afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_KEY, free_port


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    pid: int  # the serving process (uvicorn runs in it, no child processes)


@contextmanager
def served(data: Path, log_path: Path, *, within: float = 20, **env: str) -> Iterator[str]:
    """The base URL of ``credira serve`` with its data under ``data`` and the test admin key;
    ``env`` adds ``CREDIRA_*`` settings. Fails the test if it does not start ``within``
    seconds, or if its log shows a traceback once stopped."""
    with serving(data, log_path, within=within, **env) as server:
        yield server.base


@contextmanager
def serving(data: Path, log_path: Path, *, within: float = 20, **env: str) -> Iterator[Server]:
    """``served``, with the server's process id too (to read its memory)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CREDIRA_")}
    environment |= {"CREDIRA_DATA_DIR": str(data), "CREDIRA_ADMIN_KEY": ADMIN_KEY, **env}
    command = [sys.executable, "-m", "credira", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + within
        while True:
            if process.poll() is not None:
                pytest.fail(f"credira serve exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"credira serve did not start: {log_path.read_text()}")
            time.sleep(0.05)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when shutdown hangs
            process.kill()
            process.wait()
    assert "Traceback" not in log_path.read_text()
