"""The ``credira`` command as an operator runs it: real subprocesses on a fresh data directory."""

from __future__ import annotations

import os
import re
import selectors
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from credira.cli import main
from credira.config import Settings
from credira.db import migrate
from tests.faults.proxy import TcpProxy
from tests.support import free_port, zone_in_calling_hours

CREDIRA = str(Path(sys.executable).parent / "credira")
STARTUP_SECONDS = 20.0


def _env(data_dir: Path) -> dict[str, str]:
    # Nothing from the caller's CREDIRA_* environment leaks in: the default SQLite under data_dir.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIRA_")}
    env["CREDIRA_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CREDIRA, *args],
        env={**_env(data_dir), **(env or {})},
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Server:
    """``credira serve`` in a subprocess, read until it says where it listens."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CREDIRA, "serve", "--port", str(self.port)],
            env=_env(data_dir),
            cwd=data_dir.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output = self._read_until("listening on")
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._wait_healthy()

    def _read_until(self, marker: str) -> str:
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if not selector.select(timeout=0.2):
                if self.proc.poll() is not None:
                    break
                continue
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            lines.append(line)
            if marker in line:
                return "".join(lines)
        raise AssertionError(f"serve never printed {marker!r}:\n{''.join(lines)}")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                assert self.proc.stdout is not None
                rest = self.proc.stdout.read().decode()
                raise AssertionError(f"serve exited early:\n{self.output}{rest}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("serve never answered /health")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "credira-data"


@pytest.fixture
def serve(data_dir: Path) -> Iterator[type[Server]]:
    started: list[Server] = []

    class Tracked(Server):
        def __init__(self, directory: Path) -> None:
            # Registered before start-up, so a server that fails to start is still stopped.
            started.append(self)
            super().__init__(directory)

    try:
        yield Tracked
    finally:
        for server in started:
            if hasattr(server, "proc"):
                server.stop()


ADMIN_LINE = re.compile(r"admin key \(shown once[^)]*\): (\S+)")


def _create_user(base_url: str, admin_key: str, email: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/users",
        json={"email": email, "name": "Ops Person", "company": "Acme"},
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )


def test_serve_on_fresh_directory_prints_address_and_admin_key_that_works(
    data_dir: Path, serve: type[Server]
) -> None:
    server = serve(data_dir)

    assert f"listening on http://127.0.0.1:{server.port}" in server.output
    match = ADMIN_LINE.search(server.output)
    assert match, server.output
    admin_key = match.group(1)
    health = httpx.get(f"{server.base_url}/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["success"] is True
    created = _create_user(server.base_url, admin_key, "ops@acme.example.com")
    assert created.status_code == 201, created.text
    user_key = created.json()["data"]["api_key"]
    assert user_key.startswith("credira_sk_")
    me = httpx.get(
        f"{server.base_url}/v1/users/{created.json()['data']['id']}",
        headers={"Authorization": f"Bearer {user_key}"},
        timeout=5,
    )
    assert me.status_code == 200, me.text
    assert (data_dir / "credira.db").exists()

    server.stop()
    again = serve(data_dir)

    assert ADMIN_LINE.search(again.output) is None, again.output
    assert admin_key not in again.output
    assert "already stored" in again.output
    second = _create_user(again.base_url, admin_key, "ops2@acme.example.com")
    assert second.status_code == 201, second.text


def test_serve_on_its_own_port_links_replies_to_that_port(
    data_dir: Path, serve: type[Server]
) -> None:
    server = serve(data_dir)
    match = ADMIN_LINE.search(server.output)
    assert match, server.output
    created = _create_user(server.base_url, match.group(1), "links@acme.example.com")
    auth = {"Authorization": f"Bearer {created.json()['data']['api_key']}"}

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        reply = httpx.post(f"{server.base_url}{path}", json=body, headers=auth, timeout=10)
        assert reply.status_code == 201, reply.text
        data: dict[str, object] = reply.json()["data"]
        return data

    customer = {"name": "John Doe", "phone": "+14155550100", "timezone": zone_in_calling_hours()}
    invoice = post(
        "/v1/invoices",
        {"number": "INV-1", "amount": "12.00", "currency": "USD", "due_date": "2024-01-30",
         "customer": customer},
    )  # fmt: skip
    agent = post("/v1/voice-agents", {"name": "Ava", "from_number": "+14155550199"})
    post("/v1/callouts", {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}})

    deadline = time.monotonic() + 30
    calls: list[dict[str, object]] = []
    while time.monotonic() < deadline and not (calls and calls[0]["transcription_url"]):
        time.sleep(0.25)
        listed = httpx.get(
            f"{server.base_url}/v1/calls", params={"invoice_id": invoice["id"]}, headers=auth
        )
        calls = listed.json()["data"]
    assert calls, "no call was placed"
    assert calls[0]["transcription_url"], calls
    link = str(calls[0]["transcription_url"])
    assert link == f"{server.base_url}/transcriptions/{calls[0]['id']}.txt"
    assert httpx.get(link, headers=auth, timeout=5).text.startswith("Agent: ")


def test_migrate_on_fresh_directory_reaches_head_and_is_repeatable(data_dir: Path) -> None:
    head = migrate.head_revision("sqlite+aiosqlite:///unused.db")

    first = run(data_dir, "migrate")
    second = run(data_dir, "migrate")

    assert first.returncode == 0, first.stderr
    assert f"database at {head}" in first.stdout
    assert second.returncode == 0, second.stderr
    url = f"sqlite+aiosqlite:///{data_dir / 'credira.db'}"
    assert migrate.current_state(url)[0] == head


async def test_admin_create_user_prints_a_key_that_authenticates(data_dir: Path) -> None:
    from credira.app import create_app

    result = run(
        data_dir,
        "admin",
        "create-user",
        "--email",
        "Operator@Acme.example.com",
        "--name",
        "Op Erator",
        "--company",
        "Acme Corporation",
    )

    assert result.returncode == 0, result.stderr
    found = re.search(r"\b(credira_sk_\S+)", result.stdout)
    assert found, result.stdout
    user_id = re.search(r"\b(user_\w+)", result.stdout)
    assert user_id, result.stdout
    app = create_app(Settings(data_dir=data_dir, embedded_worker=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cli") as client:
            reply = await client.get(
                f"/v1/users/{user_id.group(1)}",
                headers={"Authorization": f"Bearer {found.group(1)}"},
            )
            wrong = await client.get(
                f"/v1/users/{user_id.group(1)}",
                headers={"Authorization": f"Bearer {found.group(1)}x"},
            )
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["company"] == "Acme Corporation"
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--email", "not-an-email"], "Invalid email address format", id="bad_email"),
        pytest.param(["--email", "a@example.com", "--role", "x" * 5000], "role", id="long_role"),
    ],
)
def test_admin_create_user_with_bad_input_exits_nonzero_with_clear_message(
    data_dir: Path, args: list[str], needle: str
) -> None:
    result = run(data_dir, "admin", "create-user", *args, "--name", "A", "--company", "B")

    assert result.returncode != 0
    assert needle in result.stderr
    assert result.stderr.startswith("Error:")
    assert "Traceback" not in result.stderr + result.stdout
    assert "credira_sk_" not in result.stdout


def _stamp(data_dir: Path, revision: str) -> None:
    with sqlite3.connect(data_dir / "credira.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()


def _migrated(data_dir: Path) -> str:
    data_dir.mkdir(parents=True)
    url = f"sqlite+aiosqlite:///{data_dir / 'credira.db'}"
    migrate.upgrade(url)
    return url


def test_serve_refuses_a_database_at_an_unknown_revision(data_dir: Path) -> None:
    _migrated(data_dir)
    _stamp(data_dir, "ffffdeadbeef")

    served = run(data_dir, "serve", "--port", str(free_port()))
    migrated = run(data_dir, "migrate")

    assert served.returncode != 0
    assert "ffffdeadbeef" in served.stderr
    assert "does not know" in served.stderr
    assert "listening on" not in served.stdout
    assert "Traceback" not in served.stderr
    assert migrated.returncode != 0
    assert "ffffdeadbeef" in migrated.stderr
    assert "Traceback" not in migrated.stderr


def test_serve_refuses_an_older_revision_until_migrated(data_dir: Path) -> None:
    url = _migrated(data_dir)
    migrate.downgrade(url, "-1")
    older = migrate.current_state(url)[0]

    served = run(data_dir, "serve", "--port", str(free_port()))

    assert served.returncode != 0
    assert "credira migrate" in served.stderr
    assert str(older) in served.stderr
    assert run(data_dir, "migrate").returncode == 0
    assert migrate.current_state(url)[0] == migrate.head_revision(url)


# -- a database that cannot be reached at start ------------------------------------------------


def _nothing_listening() -> str:
    """A PostgreSQL URL on a port of 127.0.0.1 where nothing listens (connecting is refused)."""
    return f"postgresql://postgres:hunter2secret@127.0.0.1:{free_port()}/credira"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_unreachable_database_at_start_is_one_line_and_a_failure(
    data_dir: Path, command: str
) -> None:
    url = _nothing_listening()
    port = url.rsplit(":", 1)[1].split("/")[0]

    result = run(data_dir, command, "--wait-for-database", "0", env={"CREDIRA_DATABASE_URL": url})

    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"Error: cannot connect to the database at postgresql+asyncpg://***@127.0.0.1:{port}"
        "/credira: connection refused"
    ], result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "listening on" not in result.stdout


def test_worker_retries_an_unreachable_database_then_gives_up(data_dir: Path) -> None:
    url = _nothing_listening()

    result = run(
        data_dir, "worker", env={"CREDIRA_DATABASE_URL": url, "CREDIRA_DATABASE_WAIT_SECONDS": "3"}
    )

    assert result.returncode == 1
    lines = _lines(result.stderr)
    retries = [line for line in lines if "database.unreachable" in line]
    # Attempts at about 0, 0.5 and 1.5 s (backoff doubling from 0.5 s); the next, at 3.5 s,
    # would be past the wait, so the worker gives up instead of sleeping.
    assert len(retries) >= 2, result.stderr
    assert "retry_in=0.5" in retries[0]
    assert "retry_in=1.0" in retries[1]
    assert all("connection refused" in line for line in retries)
    assert lines[-1].startswith("Error: cannot connect to the database at "), result.stderr
    assert re.search(r"connection refused \(gave up after \d+ s, \d+ attempts\)$", lines[-1])
    assert len(lines) == len(retries) + 1, result.stderr
    assert "hunter2secret" not in result.stderr


def test_serve_on_a_data_directory_that_cannot_exist_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    result = run(blocker, "serve", "--port", str(free_port()))

    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"Error: cannot open the database at sqlite+aiosqlite:///{blocker / 'credira.db'}: "
        f"[Errno 17] File exists: '{blocker}'"
    ], result.stderr


def test_the_wait_is_documented_in_help() -> None:
    for command in ("serve", "worker"):
        result = CliRunner().invoke(main, [command, "--help"], terminal_width=200)

        assert result.exit_code == 0
        text = " ".join(result.output.split())
        assert "--wait-for-database SECONDS" in text
        assert "env var: CREDIRA_DATABASE_WAIT_SECONDS" in text
        assert "default: 30" in text
        assert "exit with status 1" in text


@pytest.mark.postgresql
def test_worker_started_before_its_database_runs_once_the_database_answers(
    postgres_url: str, data_dir: Path
) -> None:
    # The proxy's port is taken but not listened on until start(): refused, like a database
    # that has not come up yet.
    proxy = TcpProxy.for_url(postgres_url)
    env = {**_env(data_dir), "CREDIRA_DATABASE_URL": proxy.url(postgres_url)}
    worker = subprocess.Popen(
        [CREDIRA, "worker"],
        env=env,
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert worker.stdout is not None
    try:
        first = worker.stdout.readline()
        assert "database.unreachable" in first, first
        with proxy:
            rest = ""
            while "running on" not in rest:
                line = worker.stdout.readline()
                assert line, f"worker exited: {first}{rest}"
                rest += line
            worker.terminate()
            assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()
    assert "Traceback" not in rest
