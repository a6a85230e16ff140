"""Which client a request without an API key comes from, for limits per client address.

The client is the peer of the connection (the ASGI ``client``). ``X-Forwarded-For`` is believed
only when that peer is one of ``CREDIRA_TRUSTED_PROXIES``: then the client is the address to the
right of the last trusted hop, since every hop appends the address it received the request
from and only the rightmost entries were written by proxies we trust (anything to their left
came from the client and may be made up).

An IPv6 client is counted by its /64 prefix: one subscriber line gets a whole /64 and may use
any address in it, so limiting single IPv6 addresses would limit nothing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import Scope

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """``10.0.0.0/8, 192.0.2.7, ::1`` as networks (one address is a network of one);
    ``ValueError`` on an entry that is neither."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in _entries(spec))


def _entries(spec: str) -> list[str]:
    return [part.strip() for part in spec.split(",") if part.strip()]


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _forwarded_for(scope: Scope) -> list[str]:
    hops: list[str] = []
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            hops.extend(value.decode("latin-1").split(","))
    return hops


def client_address(scope: Scope, trusted: tuple[Network, ...] = ()) -> Address | None:
    """The address the request came from, or None when the server does not say (a Unix
    socket)."""
    peer = scope.get("client")
    address = _parse(str(peer[0])) if peer else None
    if address is None or not trusted or not _trusted(address, trusted):
        return address
    for hop in reversed(_forwarded_for(scope)):
        forwarded = _parse(hop)
        if forwarded is None:
            break  # not an address: nothing further left can be believed
        address = forwarded
        if not _trusted(address, trusted):
            break
    return address


def client_key(scope: Scope, trusted: tuple[Network, ...] = ()) -> str:
    """What a client's limits are counted under: its IPv4 address, or its IPv6 /64."""
    address = client_address(scope, trusted)
    if address is None:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
