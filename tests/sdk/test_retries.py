"""Retries against a local server that answers from a script: no reply, 429 and 5xx are
retried (Retry-After honoured, else a short back-off), the POST's Idempotency-Key is the same
on every attempt, other errors are raised at once as their classes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from credira_sdk import (
    APIConnectionError,
    AsyncClient,
    Client,
    ConflictError,
    InternalError,
    RateLimitedError,
    Retries,
)
from credira_sdk._core import retry_after

FAST = Retries(max_retries=2, base=0.01, longest=0.05)
DROP = -1  # the script's "close the connection without a reply"


@dataclass
class Script:
    """What the server answers, one entry per request (the last one repeats)."""

    replies: list[tuple[int, dict[str, str]]]
    seen: list[dict[str, str]] = field(default_factory=list)


def envelope(status: int) -> bytes:
    if status < 400:
        data = {"id": "inv_1", "number": "INV-1"}
        meta = {"request_id": "req_ok"}
        return json.dumps({"success": True, "data": data, "meta": meta}).encode()
    error = {"code": "INTERNAL_ERROR" if status >= 500 else "RATE_LIMITED", "message": "no"}
    if status == 409:
        error = {"code": "CONFLICT", "message": "Cannot update callout that is currently active"}
    return json.dumps({"success": False, "error": error, "meta": {"request_id": "req_x"}}).encode()


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script([(200, {})])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            script.seen.append({k.lower(): v for k, v in self.headers.items()})
            index = min(len(script.seen), len(script.replies)) - 1
            status, headers = script.replies[index]
            if status == DROP:
                self.close_connection = True
                self.connection.close()
                return
            body = envelope(status)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer  # noqa: N815 - the names http.server calls

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


def test_a_post_is_retried_on_5xx_with_one_idempotency_key(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    script.replies = [(503, {}), (500, {}), (201, {})]
    with Client("k", base_url=base, retries=FAST) as credira:
        invoice = credira.invoices.create(
            number="INV-1",
            amount="1.00",
            currency="USD",
            due_date="2024-01-30",
            customer={"name": "A", "email": "a@example.com", "phone": "+14155550100"},
        )
    assert invoice["id"] == "inv_1"
    keys = [headers["idempotency-key"] for headers in script.seen]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert keys[0].startswith("sdk-")


def test_every_post_gets_a_key_of_its_own(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    with Client("k", base_url=base, retries=FAST) as credira:
        credira.callouts.cancel("callout_1")
        credira.callouts.cancel("callout_1")
        credira.callouts.cancel("callout_1", idempotency_key="mine")
    keys = [headers["idempotency-key"] for headers in script.seen]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"


def test_retry_after_is_honoured_over_the_backoff(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    script.replies = [(429, {"Retry-After": "1"}), (200, {})]
    slow_backoff = Retries(max_retries=2, base=30.0, longest=30.0)
    began = time.monotonic()
    with Client("k", base_url=base, retries=slow_backoff) as credira:
        credira.invoices.get("inv_1")
    assert 1.0 <= time.monotonic() - began < 10
    assert len(script.seen) == 2


def test_a_dropped_connection_is_retried(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    script.replies = [(DROP, {}), (200, {})]
    with Client("k", base_url=base, retries=FAST) as credira:
        assert credira.invoices.get("inv_1")["number"] == "INV-1"
    assert len(script.seen) == 2


def test_retries_end_with_the_error_of_the_last_reply(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    script.replies = [(500, {})]
    with Client("k", base_url=base, retries=FAST) as credira, pytest.raises(InternalError) as e:
        credira.invoices.get("inv_1")
    assert len(script.seen) == 3
    assert (e.value.status, e.value.code, e.value.request_id) == (500, "INTERNAL_ERROR", "req_x")

    script.seen.clear()
    script.replies = [(429, {"Retry-After": "0"})]
    with Client("k", base_url=base, max_retries=0) as credira, pytest.raises(RateLimitedError):
        credira.invoices.get("inv_1")
    assert len(script.seen) == 1


def test_a_conflict_is_not_retried(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    script.replies = [(409, {})]
    with Client("k", base_url=base, retries=FAST) as credira, pytest.raises(ConflictError) as e:
        credira.callouts.update("callout_1", priority="high", if_match='"3"')
    assert len(script.seen) == 1
    assert script.seen[0]["if-match"] == '"3"'
    assert e.value.message == "Cannot update callout that is currently active"


def test_no_server_is_a_connection_error() -> None:
    from tests.support import free_port

    nobody = f"http://127.0.0.1:{free_port()}"
    with Client("k", base_url=nobody, retries=FAST) as credira, pytest.raises(APIConnectionError):
        credira.health()


async def test_the_async_client_retries_the_same_way(scripted: tuple[str, Script]) -> None:
    base, script = scripted
    script.replies = [(DROP, {}), (502, {}), (201, {})]
    async with AsyncClient("k", base_url=base, retries=FAST) as credira:
        await credira.voice_agents.create(name="Ava")
    assert len({headers["idempotency-key"] for headers in script.seen}) == 1
    assert len(script.seen) == 3


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after({"Retry-After": date}, now=1445412480.0) == 10.0
    assert retry_after({"Retry-After": "soon"}) is None
    assert Retries(base=0.5).delay(0, {"Retry-After": "120"}) <= 0.5  # too long: back off
