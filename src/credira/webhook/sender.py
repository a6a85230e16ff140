"""The port to webhook receivers and its adapter: one signed POST, its reply read up to a
kilobyte. Redirects are not followed (a 3xx is a failure); every connection goes through the
SSRF guard (``guard.py``)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterable
from datetime import datetime
from typing import Protocol

import httpcore
import httpx

from credira.webhook.guard import Blocked, GuardedBackend, Policy
from credira.webhook.policy import RESPONSE_KEPT, Outcome, parse_retry_after

USER_AGENT = "Credira-Webhooks/1.0"


def clean(text: str) -> str:
    """A receiver's text as it can be stored: PostgreSQL's JSON holds no NUL character."""
    return text.replace("\x00", "\ufffd")


class Sender(Protocol):
    async def send(
        self, url: str, headers: dict[str, str], body: bytes, now: datetime
    ) -> Outcome: ...

    async def aclose(self) -> None: ...


class HttpSender:
    """POSTs over HTTP/1.1 and HTTPS with httpx's HTTP engine, httpcore: a stack of kept-alive
    connections per origin, each made by the SSRF guard, and a deadline for the whole exchange
    (a receiver that trickles its reply is cut off too). Not through ``httpx.AsyncClient``:
    its request and response models cost 0.3 ms a request here, a quarter of a delivery, and
    nothing of them is needed for one POST whose reply is read up to a kilobyte (no redirects,
    no cookies, no decoding: no Accept-Encoding is sent). Nor through httpcore's pool, which
    scans every connection, with syscalls, for every request."""

    def __init__(self, policy: Policy, *, timeout: float = 15.0, connections: int = 200) -> None:
        self.timeout = timeout
        self._backend = GuardedBackend(policy)
        self._ssl = ssl.create_default_context()
        self._idle_max = connections
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._urls: dict[str, tuple[httpcore.Origin, httpcore.URL, bytes]] = {}
        self._timeouts = {k: timeout for k in ("connect", "read", "write", "pool")}

    def _parse(self, url: str) -> tuple[httpcore.Origin, httpcore.URL, bytes]:
        found = self._urls.get(url)
        if found is None:
            parsed = httpx.URL(url)
            scheme = parsed.raw_scheme
            if scheme not in (b"http", b"https"):
                raise httpx.UnsupportedProtocol(f"not an http(s) URL: {url[:100]}")
            port = parsed.port or (443 if scheme == b"https" else 80)
            origin = httpcore.Origin(scheme, parsed.raw_host, port)
            target = httpcore.URL(
                scheme=scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
            )
            if len(self._urls) > 10_000:
                self._urls.clear()
            found = self._urls[url] = (origin, target, parsed.netloc)
        return found

    async def send(self, url: str, headers: dict[str, str], body: bytes, now: datetime) -> Outcome:
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            origin, target, host = self._parse(url)
            key = (origin.scheme, origin.host, origin.port)
            request = httpcore.Request(
                b"POST",
                target,
                headers=[
                    (b"host", host),
                    (b"content-type", b"application/json"),
                    (b"user-agent", USER_AGENT.encode()),
                    (b"content-length", str(len(body)).encode()),
                    *((k.encode(), v.encode()) for k, v in headers.items()),
                ],
                content=body,
                extensions={"timeout": self._timeouts},
            )
            async with asyncio.timeout(self.timeout):
                status, reply_headers, text = await self._exchange(key, origin, request)
            return Outcome(
                status,
                elapsed(),
                text,
                retry_after=parse_retry_after(reply_headers.get("retry-after"), now),
            )
        except Blocked as exc:
            return Outcome(None, elapsed(), error=f"refused by the SSRF guard: {exc}")
        except (TimeoutError, httpcore.TimeoutException):
            return Outcome(None, elapsed(), error=f"no reply within {self.timeout:g} s")
        except (
            httpx.HTTPError,
            httpx.InvalidURL,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            OSError,
            ssl.SSLError,
        ) as exc:
            return Outcome(None, elapsed(), error=clean(f"{type(exc).__name__}: {exc}"[:500]))

    async def _exchange(
        self,
        key: tuple[bytes, bytes, int],
        origin: httpcore.Origin,
        request: httpcore.Request,
    ) -> tuple[int, dict[str, str], str]:
        idle = self._idle.setdefault(key, [])
        connection = None
        while idle:
            candidate = idle.pop()
            if candidate.is_idle() and not candidate.has_expired():
                connection = candidate
                break
            await candidate.aclose()
        if connection is None:
            connection = httpcore.AsyncHTTPConnection(
                origin, ssl_context=self._ssl, keepalive_expiry=30.0, network_backend=self._backend
            )
        try:
            reply = await connection.handle_async_request(request)
            try:
                kept = bytearray()
                stream = reply.stream
                assert isinstance(stream, AsyncIterable)
                async for chunk in stream:
                    kept += chunk
                    if len(kept) >= RESPONSE_KEPT:
                        break
            finally:
                await reply.aclose()
        except BaseException:
            await connection.aclose()
            raise
        if connection.is_idle() and len(idle) < self._idle_max:
            idle.append(connection)
        else:
            await connection.aclose()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in reply.headers}
        text = clean(bytes(kept[:RESPONSE_KEPT]).decode("utf-8", "replace"))
        return reply.status, headers, text

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                await connection.aclose()
        self._idle.clear()
