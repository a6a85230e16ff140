"""Acceptance: the seed's curl command, replayed against a real ``credira serve`` (SQLite)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.callout.helpers import TIME_RE, load_seed, parse_time
from tests.served import served
from tests.shapes import assert_same_shape
from tests.support import ADMIN_KEY, bearer

SEED = load_seed()
SEED_URL = "https://api.credira.com/v1/callouts/callout_123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``credira serve`` on a free port, with its data under ``tmp_path``."""
    # The seed moves the callout to a past time, so an embedded worker would start it at
    # once; this test is about the API's reply, and a stopped worker keeps shutdown quick.
    with served(
        tmp_path / "data", tmp_path / "serve.log", within=15, CREDIRA_EMBEDDED_WORKER="false"
    ) as base:
        yield base


def _ok(http: httpx.Client, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_curl_replayed_against_a_real_server(server: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        user = _ok(
            http,
            "/v1/users",
            ADMIN_KEY,
            {"email": "ops@acme.example.com", "name": "Ops", "company": "Acme"},
        )
        key = user["api_key"]
        invoice = _ok(
            http,
            "/v1/invoices",
            key,
            {
                "number": "INV-001",
                "amount": "1250.00",
                "currency": "USD",
                "due_date": "2024-01-30",
                "customer": {
                    "name": "John Doe",
                    "email": "john.doe@example.com",
                    "phone": "+14155550100",
                },
            },
        )
        agent = _ok(http, "/v1/voice-agents", key, {"name": "Ava"})
        callout = _ok(
            http,
            "/v1/callouts",
            key,
            {
                "invoice_id": invoice["id"],
                "scheduled_time": "2030-01-20T10:00:00Z",
                "priority": "low",
                "actions": {"calls_enabled": True, "voice_agent_id": agent["id"]},
                "metadata": {"campaign_id": "camp_123", "department": "billing"},
            },
        )

    # The seed's command with only the base URL, the key and the agent id replaced.
    assert SEED.curl.count(SEED_URL) == 1
    command = (
        SEED.curl.replace(SEED_URL, f"{server}/v1/callouts/{callout['id']}")
        .replace("YOUR_API_KEY", key)
        .replace("agent_789123456", agent["id"])
    )
    headers_file = tmp_path / "headers.txt"
    run = subprocess.run(
        ["bash", "-c", f"{command} --silent --show-error --dump-header {headers_file}"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()

    reply = json.loads(run.stdout)
    assert_same_shape(reply, SEED.reply)
    status_line, *header_lines = headers_file.read_text().splitlines()
    assert status_line.split()[1] == "200"
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines if ":" in line)
    }
    assert headers["x-request-id"] == reply["meta"]["request_id"]
    assert reply["meta"]["request_id"].startswith("req_")
    assert TIME_RE.fullmatch(reply["meta"]["timestamp"])
    assert reply["meta"]["message"] == "Callout updated successfully"

    data = reply["data"]
    sent = SEED.request_body
    assert data["id"] == callout["id"]
    assert data["invoice_id"] == invoice["id"]
    assert data["account_id"] == user["account_id"]
    assert data["status"] == "scheduled"
    assert data["scheduled_time"] == sent["scheduled_time"]
    assert data["priority"] == sent["priority"]
    assert data["target_contact"] == sent["target_contact"]
    assert data["actions"] == {**sent["actions"], "voice_agent_id": agent["id"]}
    assert data["metadata"] == sent["metadata"]
    assert parse_time(data["updated_time"]) >= parse_time(data["created_time"])
