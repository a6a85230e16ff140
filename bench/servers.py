# ruff: noqa: S603  (runs our own processes: python, credira, py-spy, git)
"""Starting and stopping the processes under test, and reading their memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dbs import Database

PYTHON = sys.executable
CREDIRA = str(Path(sys.executable).parent / "credira")
ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "bench-admin-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(db: Database, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CREDIRA_") or k.startswith("CREDIRA_BENCH")
    }
    env.update(
        CREDIRA_DATABASE_URL=db.url,
        CREDIRA_DATA_DIR=str(db.data_dir),
        CREDIRA_ADMIN_KEY=ADMIN_KEY,
        CREDIRA_EMBEDDED_WORKER="false",
        # This tree's code, whichever checkout the environment has installed.
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    )
    env.update(extra)
    return env


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_healthy(server: Server, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    url = f"http://127.0.0.1:{server.port}/health"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer /health within {within}s")


def _spawn(name: str, args: list[str], env: dict[str, str], port: int, logs: Path) -> Server:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    return Server(name, process, port, log)


def spawn_credira(db: Database, logs: Path, **env: str) -> Server:
    """``credira serve``: one uvicorn process, the embedded worker off."""
    port = free_port()
    return _spawn(
        f"credira-{db.kind}",
        [CREDIRA, "serve", "--host", "127.0.0.1", "--port", str(port)],
        environment(db, **env),
        port,
        logs,
    )


def spawn_baseline(db: Database, logs: Path) -> Server:
    port = free_port()
    return _spawn(
        f"baseline-{db.kind}",
        [PYTHON, "-m", "bench.baseline_app", "--port", str(port)],
        environment(db),
        port,
        logs,
    )


def spawn_floor(db: Database, logs: Path) -> Server:
    """The floor: bare Starlette on the raw driver (bench/floor_app.py)."""
    port = free_port()
    return _spawn(
        f"floor-{db.kind}",
        [PYTHON, "-m", "bench.floor_app", "--port", str(port)],
        environment(db),
        port,
        logs,
    )


def ready(*servers: Server) -> None:
    """Wait until every server answers /health (they start in parallel)."""
    try:
        for server in servers:
            _wait_healthy(server)
    except Exception:
        for server in servers:
            server.stop()
        raise


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in its own process and return its result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        out = subprocess.run(
            [PYTHON, "-m", "bench.loadgen", path],
            capture_output=True,
            check=True,
            cwd=ROOT,
            timeout=float(spec["warmup"]) + float(spec["duration"]) + 60,
        )
    finally:
        os.unlink(path)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def memory(pid: int) -> dict[str, float]:
    """Resident set size now (psutil when installed, else VmRSS) and its peak over the
    process's life (VmHWM, which psutil does not expose), in MiB."""
    fields: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    except OSError:
        pass
    rss = fields.get("VmRSS", float("nan"))
    try:
        import psutil
    except ImportError:
        pass
    else:
        rss = psutil.Process(pid).memory_info().rss / 2**20
    return {"rss_mb": rss, "peak_mb": fields.get("VmHWM", float("nan"))}
