"""The request head (request line and headers) has a size limit that ``credira serve`` enforces
while the head streams in: a head past it is answered 431 and never held in memory, so many
connections sending huge unfinished headers cost the server nothing.

These drive the real command over raw sockets: an HTTP client would refuse to send such heads.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.served import Server, serving

LIMIT = 32 * 1024  # CREDIRA_MAX_HEADER_BYTES' default
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``credira serve`` with its defaults, the worker off (nothing else allocates meanwhile)."""
    folder = tmp_path_factory.mktemp("header-limit")
    with serving(folder / "data", folder / "serve.log", CREDIRA_EMBEDDED_WORKER="false") as running:
        yield running


def _connect(server: Server) -> socket.socket:
    host, port = server.base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _head(path: str, **headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (names lowercased) and its Content-Length body."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        assert data, f"connection closed before a whole response head: {buffer!r}"
        buffer += data
    head, _, body = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        data = sock.recv(65536)
        assert data, "connection closed inside the response body"
        body += data
    return int(status_line.split(" ")[1]), headers, body[:length]


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def test_an_oversized_request_header_is_refused_with_431_before_it_is_buffered(
    server: Server,
) -> None:
    began = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(_head("/v1/account", **{"X-Padding": "a" * (1024 * 1024)}))
        status, headers, body = _read_response(sock)
        assert _closed_by_server(sock)
    assert time.monotonic() - began < 2

    assert status == 431
    assert headers["connection"] == "close"
    assert headers["x-request-id"].startswith("req_")
    envelope = json.loads(body)
    assert envelope["success"] is False
    assert envelope["error"]["code"] == "HEADERS_TOO_LARGE"
    assert str(LIMIT) in envelope["error"]["message"]
    assert envelope["meta"]["request_id"] == headers["x-request-id"]


def test_connections_holding_unfinished_huge_headers_leave_the_server_memory_flat(
    server: Server,
) -> None:
    with _connect(server) as warm:  # the request path's code and buffers, loaded once
        warm.sendall(_head("/v1/account", **{"X-Padding": "a" * (LIMIT // 2)}))
        _read_response(warm)
    before = _rss_bytes(server.pid)

    connections = [_connect(server) for _ in range(8)]
    try:
        for sock in connections:
            sock.sendall(_head("/v1/account").removesuffix(b"\r\n") + b"X-Padding: ")
        for _ in range((4 * 1024 * 1024) // CHUNK):  # 4 MiB each, and the head never ends
            for sock in connections:
                with contextlib.suppress(OSError):  # refused and closed: nothing to send
                    sock.sendall(b"a" * CHUNK)
        time.sleep(0.5)  # the server reads what is in flight
        grown = _rss_bytes(server.pid) - before
    finally:
        for sock in connections:
            sock.close()

    assert grown < 4 * 1024 * 1024, f"the server grew by {grown / 2**20:.1f} MiB"


def test_requests_with_ordinary_headers_are_answered_on_a_kept_alive_connection(
    server: Server,
) -> None:
    # Each head is under the limit, the two together are over it: the limit is per request.
    padding = "b" * (LIMIT * 2 // 3)
    with _connect(server) as sock:
        for _ in range(2):
            sock.sendall(_head("/health", **{"X-Padding": padding, "Accept": "*/*"}))
            status, _, body = _read_response(sock)
            assert status == 200
            assert json.loads(body)["success"] is True
