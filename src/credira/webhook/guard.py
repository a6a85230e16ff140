"""The SSRF guard: deliveries never reach loopback, private, link-local, multicast, reserved or
metadata addresses, unless an operator lets given networks through
(``CREDIRA_WEBHOOK_ALLOW_NETWORKS``).

Checked on the address actually connected to: the name is resolved once, each address is
judged, and the connection is made to an address that passed (``GuardedBackend``), so a name
that resolves inside later (DNS rebinding) is refused too. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

import httpcore
from httpcore import AsyncNetworkBackend, AsyncNetworkStream

Address = IPv4Address | IPv6Address


class Blocked(Exception):
    """The destination resolves only to addresses the guard refuses."""


class Policy:
    """Which addresses a delivery may connect to."""

    def __init__(self, allow: str = "") -> None:
        self.allow = [ip_network(p.strip(), strict=False) for p in allow.split(",") if p.strip()]

    def allows(self, address: Address) -> bool:
        if any(address in network for network in self.allow):
            return True
        if isinstance(address, IPv6Address):
            # ::ffff:10.0.0.1, 64:ff9b::10.0.0.1 (NAT64) and 2002:a00:1:: (6to4) reach v4.
            inner = address.ipv4_mapped or address.sixtofour
            if inner is None and address in _NAT64:
                inner = IPv4Address(int(address) & 0xFFFFFFFF)
            if inner is not None:
                return self.allows(inner)
        return address.is_global and not (
            address.is_multicast or address.is_reserved or address.is_unspecified
        )

    def check_literal(self, host: str) -> None:
        """Refuse a URL whose host is an address the guard refuses (names wait for DNS)."""
        try:
            address = ip_address(host.strip("[]"))
        except ValueError:
            return
        if not self.allows(address):
            raise Blocked(f"{address} is not a public address")


_NAT64 = ip_network("64:ff9b::/96")


class GuardedBackend(AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: Policy, inner: AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused: list[str] = []
        for info in infos:
            address = ip_address(str(info[4][0]).split("%", 1)[0])
            if not self.policy.allows(address):
                refused.append(str(address))
                continue
            return await self.inner.connect_tcp(
                str(address), port, timeout, local_address, socket_options
            )
        raise Blocked(f"{host} resolves to {', '.join(refused) or 'nothing'}: not public")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        raise Blocked("unix sockets are not webhook destinations")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
