"""The port to webhook receivers and its adapter: one signed POST, its reply read up to a
kilobyte. Redirects are not followed (a 3xx is a failure); every connection goes through the
SSRF guard (``guard.py``)."""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import datetime
from typing import Protocol

import httpcore
import httpx

from credira.webhook.guard import Blocked, GuardedBackend, Policy
from credira.webhook.policy import RESPONSE_KEPT, Outcome, parse_retry_after

USER_AGENT = "Credira-Webhooks/1.0"


class Sender(Protocol):
    async def send(
        self, url: str, headers: dict[str, str], body: bytes, now: datetime
    ) -> Outcome: ...

    async def aclose(self) -> None: ...


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose every TCP connection is made by the
    guard (httpx offers no argument for the pool's network backend)."""

    def __init__(self, policy: Policy, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


class HttpSender:
    """POSTs over HTTP(S) with httpx: one pool for every endpoint, keep-alive, a deadline
    for the whole exchange (a receiver that trickles its reply is cut off too)."""

    def __init__(self, policy: Policy, *, timeout: float = 15.0, connections: int = 200) -> None:
        self.timeout = timeout
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(
            transport=_GuardedTransport(policy, limits),
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
                text = bytes(kept[:RESPONSE_KEPT]).decode("utf-8", "replace")
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
        except httpx.TimeoutException as exc:
            return Outcome(None, elapsed(), error=f"timed out: {type(exc).__name__}")
        except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
            return Outcome(None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:500])

    async def aclose(self) -> None:
        await self.client.aclose()
