"""Acceptance: under ``credira serve`` on SQLite, with the simulator at its default speed, a
callout due now runs scheduled -> active -> completed within 5 s, its call is listed with
every documented field, and its transcript is served to its own account only."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.served import served
from tests.support import ADMIN_KEY, bearer, zone_in_calling_hours

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# GET /calls?invoice_id= (CREDIRA_DOCS.md 2.5), in the documented order.
LIST_FIELDS = [
    "id",
    "invoice_id",
    "duration",
    "status",
    "from",
    "to",
    "transcription_url",
    "call_recording_url",
    "confidence_score",
    "voice_agent_id",
    "timezone",
    "account_id",
    "created_time",
]
# GET /calls/{id} (CREDIRA_DOCS.md 2.6): the list fields, then these.
DETAIL_FIELDS = [
    "updated_time",
    "start_time",
    "end_time",
    "call_type",
    "cost",
    "currency",
    "quality_score",
    "sentiment_score",
    "keywords",
    "summary",
    "tags",
    "metadata",
]
PHONE = "+14155550100"  # ends in 00: answered, the debtor acknowledges the invoice
AGENT_NUMBER = "+14155550999"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``credira serve`` with its defaults (SQLite, embedded worker, simulator at 1.0)."""
    with served(tmp_path / "data", tmp_path / "serve.log") as base:
        yield base


def _key(http: httpx.Client, company: str, email: str) -> str:
    body = {"email": email, "name": "John Doe", "company": company}
    response = http.post("/v1/users", json=body, headers=bearer(ADMIN_KEY))
    assert response.status_code == 201, response.text
    key: str = response.json()["data"]["api_key"]
    return key


def _create(http: httpx.Client, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_a_callout_due_now_runs_to_completion_under_serve_within_five_seconds(
    server: str,
) -> None:
    zone = zone_in_calling_hours()
    with httpx.Client(base_url=server, timeout=5) as http:
        owner = _key(http, "Acme Corporation", "owner@acme.example.com")
        stranger = _key(http, "Other Ltd", "someone@other.example.com")
        invoice = _create(
            http,
            owner,
            "/v1/invoices",
            {
                "number": "INV-001",
                "amount": "1250.00",
                "currency": "USD",
                "due_date": "2024-01-30",
                "customer": {"name": "John Doe", "phone": PHONE, "timezone": zone},
            },
        )
        agent = _create(
            http, owner, "/v1/voice-agents", {"name": "Ava", "from_number": AGENT_NUMBER}
        )

        created = time.monotonic()
        callout = _create(
            http,
            owner,
            "/v1/callouts",
            {
                "invoice_id": invoice["id"],
                "actions": {
                    "calls_enabled": True,
                    "emails_enabled": False,
                    "voice_agent_id": agent["id"],
                },
            },
        )
        seen = [callout["status"]]
        completed_after = None
        while time.monotonic() - created < 8:
            response = http.get(f"/v1/callouts/{callout['id']}", headers=bearer(owner))
            assert response.status_code == 200, response.text
            status = response.json()["data"]["status"]
            if status != seen[-1]:
                seen.append(status)
            if status in ("completed", "failed", "cancelled"):
                completed_after = time.monotonic() - created
                break
            time.sleep(0.02)

        assert seen == ["scheduled", "active", "completed"]
        assert completed_after is not None
        assert completed_after < 5.0, completed_after

        listed = http.get("/v1/calls", params={"invoice_id": invoice["id"]}, headers=bearer(owner))
        assert listed.status_code == 200, listed.text
        assert listed.json()["meta"]["total_calls"] == 1
        [item] = listed.json()["data"]
        assert list(item) == LIST_FIELDS
        assert_documented_call(item, invoice, agent, zone, server)

        detail = http.get(f"/v1/calls/{item['id']}", headers=bearer(owner))
        assert detail.status_code == 200, detail.text
        call = detail.json()["data"]
        assert list(call)[: len(LIST_FIELDS) + len(DETAIL_FIELDS)] == LIST_FIELDS + DETAIL_FIELDS
        assert {k: call[k] for k in LIST_FIELDS} == item
        assert_documented_detail(call)

        path = httpx.URL(item["transcription_url"]).path
        assert path == f"/transcriptions/{item['id']}.txt"
        transcript = http.get(path, headers=bearer(owner))
        assert transcript.status_code == 200, transcript.text
        assert transcript.headers["content-type"].startswith("text/plain")
        assert "Agent: Hello" in transcript.text
        assert "Debtor:" in transcript.text

        foreign = http.get(path, headers=bearer(stranger))
        assert foreign.status_code == 404
        assert foreign.json()["success"] is False
        assert foreign.json()["error"]["code"] == "NOT_FOUND"
        # Nor can the other account see the call itself.
        hidden = http.get(f"/v1/calls/{item['id']}", headers=bearer(stranger))
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "NOT_FOUND"


def assert_documented_call(
    item: dict[str, Any], invoice: dict[str, Any], agent: dict[str, Any], zone: str, base: str
) -> None:
    assert item["id"].startswith("call_")
    assert item["invoice_id"] == invoice["id"]
    assert isinstance(item["duration"], int)
    assert item["duration"] > 0
    assert item["status"] == "completed"
    assert item["from"] == AGENT_NUMBER
    assert item["to"] == PHONE
    assert item["transcription_url"] == f"{base}/transcriptions/{item['id']}.txt"
    # A recording exists only where a text-to-speech engine is installed.
    recording = item["call_recording_url"]
    assert recording is None or re.fullmatch(
        rf"{re.escape(base)}/recordings/{item['id']}\.(mp3|wav)", recording
    )
    assert isinstance(item["confidence_score"], float)
    assert 0 < item["confidence_score"] <= 1
    assert item["voice_agent_id"] == agent["id"]
    assert item["timezone"] == zone
    assert item["account_id"] == invoice["account_id"]
    assert TIME.match(item["created_time"])


def assert_documented_detail(call: dict[str, Any]) -> None:
    for field in ("updated_time", "start_time", "end_time"):
        assert TIME.match(call[field]), (field, call[field])
    assert call["created_time"] <= call["start_time"] <= call["end_time"]
    assert call["call_type"] == "outbound"
    assert isinstance(call["cost"], float)
    assert call["cost"] > 0
    assert call["currency"] == "USD"
    assert isinstance(call["quality_score"], float)
    assert isinstance(call["sentiment_score"], float)
    assert -1 <= call["sentiment_score"] <= 1
    assert isinstance(call["keywords"], list)
    assert call["keywords"]
    assert all(isinstance(k, str) for k in call["keywords"])
    assert isinstance(call["summary"], str)
    assert call["summary"]
    assert call["tags"] == ["payment-reminder"]
    assert isinstance(call["metadata"], dict)
