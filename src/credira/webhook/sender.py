"""The port to webhook receivers and its adapter: one signed POST, its reply read up to a
kilobyte. Redirects are not followed (a 3xx is a failure); every connection goes through the
SSRF guard (``guard.py``)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator
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


class _Connections(httpx.AsyncBaseTransport):
    """httpx's transport over httpcore connections, each made by the guard, kept alive per
    origin in a plain stack: httpcore's pool scans every connection of the pool for every
    request (several syscalls each), which cost more than the requests themselves at a few
    hundred a second. At most ``idle`` connections per origin are kept."""

    def __init__(self, policy: Policy, idle: int, keepalive: float = 30.0) -> None:
        self._backend = GuardedBackend(policy)
        self._ssl = ssl.create_default_context()
        self._idle_max = idle
        self._keepalive = keepalive
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.raw_scheme == b"https" else 80)
        key = (url.raw_scheme, url.raw_host, port)
        connection = None
        idle = self._idle.setdefault(key, [])
        while idle:
            candidate = idle.pop()
            if candidate.is_idle() and not candidate.has_expired():
                connection = candidate
                break
            await candidate.aclose()
        if connection is None:
            connection = httpcore.AsyncHTTPConnection(
                httpcore.Origin(url.raw_scheme, url.raw_host, port),
                ssl_context=self._ssl,
                keepalive_expiry=self._keepalive,
                network_backend=self._backend,
            )
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            reply = await connection.handle_async_request(core)
        except BaseException:
            await connection.aclose()
            raise
        return httpx.Response(
            status_code=reply.status,
            headers=reply.headers,
            stream=_Body(reply, connection, idle, self._idle_max),
            extensions=reply.extensions,
        )

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                await connection.aclose()
        self._idle.clear()


class _Body(httpx.AsyncByteStream):
    """A reply's body; once closed, its connection goes back to its origin's stack."""

    def __init__(
        self,
        reply: httpcore.Response,
        connection: httpcore.AsyncHTTPConnection,
        idle: list[httpcore.AsyncHTTPConnection],
        idle_max: int,
    ) -> None:
        self.reply, self.connection, self.idle, self.idle_max = reply, connection, idle, idle_max

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self.reply.stream
        assert isinstance(stream, AsyncIterable)
        async for part in stream:
            yield part

    async def aclose(self) -> None:
        await self.reply.aclose()
        if self.connection.is_idle() and len(self.idle) < self.idle_max:
            self.idle.append(self.connection)
        else:
            await self.connection.aclose()


class HttpSender:
    """POSTs over HTTP(S) with httpx: one pool for every endpoint, keep-alive, a deadline
    for the whole exchange (a receiver that trickles its reply is cut off too)."""

    def __init__(self, policy: Policy, *, timeout: float = 15.0, connections: int = 200) -> None:
        self.timeout = timeout
        self.client = httpx.AsyncClient(
            transport=_Connections(policy, idle=connections),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
        )

    async def send(self, url: str, headers: dict[str, str], body: bytes, now: datetime) -> Outcome:
        started = time.perf_counter()
        all_headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **headers,
        }

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            async with asyncio.timeout(self.timeout):
                request = self.client.build_request("POST", url, content=body, headers=all_headers)
                response = await self.client.send(request, stream=True)
                try:
                    kept = bytearray()
                    async for chunk in response.aiter_bytes():
                        kept += chunk
                        if len(kept) >= RESPONSE_KEPT:
                            break
                finally:
                    await response.aclose()
                text = clean(bytes(kept[:RESPONSE_KEPT]).decode("utf-8", "replace"))
                return Outcome(
                    response.status_code,
                    elapsed(),
                    text,
                    retry_after=parse_retry_after(response.headers.get("retry-after"), now),
                )
        except Blocked as exc:
            return Outcome(None, elapsed(), error=f"refused by the SSRF guard: {exc}")
        except TimeoutError:
            return Outcome(None, elapsed(), error=f"no reply within {self.timeout:g} s")
        except (httpx.TimeoutException, httpcore.TimeoutException) as exc:
            return Outcome(None, elapsed(), error=f"timed out: {type(exc).__name__}")
        except (
            httpx.HTTPError,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            OSError,
            ssl.SSLError,
        ) as exc:
            return Outcome(None, elapsed(), error=clean(f"{type(exc).__name__}: {exc}"[:500]))

    async def aclose(self) -> None:
        await self.client.aclose()
