"""Keys never reach the logs: a real ``credira serve`` process, JSON logs at debug level, goes
through a user's whole key life (creation with the admin key, use, rotation, the revoked key,
wrong keys) and database failures in the middle of authentication; then its stdout and stderr
are searched for every key and every key's hash.

The one place a key is printed on purpose is ``serve``'s banner on first start: the generated
admin key, shown once. It must appear there and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from credira.auth.keys import USER_KEY_PREFIX, hash_key, new_admin_key, new_user_key
from tests.support import bearer, free_port

pytestmark = pytest.mark.postgresql

CREDIRA = str(Path(sys.executable).parent / "credira")
BANNER = "admin key (shown once, stored only as a hash): "


@pytest.fixture
def backend() -> str:
    # PostgreSQL, so that the test can fail the database in the middle of a key lookup.
    return "postgresql"


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base_url: str
    admin_key: str
    stdout: Path
    stderr: Path

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CREDIRA_")  # no admin key from the environment: one is made
    }
    env.update(
        CREDIRA_DATABASE_URL=database_url,
        CREDIRA_DATA_DIR=str(tmp_path / "data"),
        CREDIRA_PORT=str(port),
        CREDIRA_LOG_JSON="true",
        CREDIRA_LOG_LEVEL="debug",
        CREDIRA_SIMULATOR_TIME_SCALE="0.1",
    )
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([CREDIRA, "serve"], env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in stdout.read_text():
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.1)
        # The banner comes before uvicorn binds: wait until it answers.
        while True:
            assert process.poll() is None, stderr.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, stderr.read_text()
                time.sleep(0.1)
        banner = [line for line in stdout.read_text().splitlines() if line.startswith(BANNER)]
        assert len(banner) == 1, stdout.read_text()
        yield Served(process, f"http://127.0.0.1:{port}", banner[0][len(BANNER) :], stdout, stderr)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _fail_mid_lookup(database_url: str, table: str, http: httpx.AsyncClient, key: str) -> int:
    """Hold ``table`` locked so the lookup of ``key`` waits on it, then end every session of
    the server, as a PostgreSQL restart does. Returns the request's status."""
    locker = await asyncpg.connect("postgresql://" + database_url.split("://", 1)[1])
    try:
        async with locker.transaction():
            await locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            send = asyncio.create_task(http.get("/v1/invoices", headers=bearer(key)))
            await asyncio.sleep(0.5)
            assert not send.done()
            await locker.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        reply = await asyncio.wait_for(send, timeout=20)
    finally:
        await locker.close()
    return reply.status_code


async def test_no_key_and_no_key_hash_ever_reaches_the_logs(
    served: Served, database_url: str
) -> None:
    admin = served.admin_key
    wrong = [
        new_user_key(),  # well formed, unknown
        new_admin_key(),
        admin[:-4] + ("AAAA" if not admin.endswith("AAAA") else "BBBB"),  # near misses
    ]
    async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
        created = await http.post(
            "/v1/users",
            json={"email": "ops@acme.example.com", "name": "Ops", "company": "Acme"},
            headers=bearer(admin),
        )
        assert created.status_code == 201, created.text
        user = created.json()["data"]
        first_key = user["api_key"]
        wrong.append(first_key[:-4] + ("AAAA" if not first_key.endswith("AAAA") else "BBBB"))

        invoice = await http.post(
            "/v1/invoices",
            json={
                "number": "INV-001",
                "amount": "1250.00",
                "currency": "USD",
                "due_date": "2024-01-30",
                "customer": {"name": "John Doe", "email": "john@example.com"},
            },
            headers=bearer(first_key),
        )
        assert invoice.status_code == 201, invoice.text
        assert (await http.get(f"/v1/users/{user['id']}", headers=bearer(first_key))).is_success

        rotated = await http.post(f"/v1/users/{user['id']}/rotate-key", headers=bearer(first_key))
        assert rotated.status_code == 201, rotated.text
        second_key = rotated.json()["data"]["api_key"]
        assert (await http.get("/v1/invoices", headers=bearer(first_key))).status_code == 401
        assert (await http.get("/v1/invoices", headers=bearer(second_key))).status_code == 200

        for key in wrong:
            reply = await http.get("/v1/invoices", headers=bearer(key))
            assert reply.status_code == 401, reply.text
            reply = await http.post("/v1/users", json={}, headers=bearer(key))
            assert reply.status_code == 401, reply.text
        # Keys where a key does not belong: the query string, another scheme, the admin key
        # where it is refused, a malformed body alongside a good key.
        assert (await http.get(f"/v1/invoices?api_key={second_key}")).status_code in (400, 401)
        assert (
            await http.get("/v1/invoices", headers={"Authorization": f"Basic {second_key}"})
        ).status_code == 401
        assert (await http.get("/v1/invoices", headers=bearer(admin))).status_code == 403
        bad = await http.post("/v1/invoices", content=b"{not json", headers=bearer(second_key))
        assert bad.status_code == 400, bad.text

        # The database fails while a key is being looked up: the error is logged, the key
        # and its hash are not (the SQL's parameters hold the hash).
        for table, key in (("admin_keys", admin), ("admin_keys", wrong[0]), ("users", second_key)):
            assert await _fail_mid_lookup(database_url, table, http, key) == 503
        assert (await http.get("/v1/invoices", headers=bearer(second_key))).status_code == 200

    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=30)
    stdout, stderr = served.output()

    events = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    names = {event.get("event") for event in events}
    # The logs were written, as JSON, and cover what happened.
    assert {"http.request", "db.unavailable"} <= names, names
    assert sum(event.get("event") == "http.request" for event in events) >= 20

    secrets = {
        "admin key": admin,
        "first user key": first_key,
        "second user key": second_key,
        **{f"wrong key {n}": key for n, key in enumerate(wrong)},
    }
    leaks = []
    for name, secret in secrets.items():
        body = secret.split("_", 2)[-1]  # the random part, whatever is printed around it
        for label, text in (("stdout", stdout), ("stderr", stderr)):
            for what, needle in ((name, body), (f"hash of {name}", hash_key(secret))):
                count = text.count(needle)
                expected = 1 if (name, label, what) == ("admin key", "stdout", name) else 0
                if count != expected:
                    leaks.append(f"{what} appears {count} times in {label}")
    assert leaks == []
    assert stdout.count(BANNER + admin) == 1
    assert USER_KEY_PREFIX not in stderr
