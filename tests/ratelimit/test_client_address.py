"""Which client a request without a key is counted as (``credira.ratelimit.address``)."""

from __future__ import annotations

from typing import Any

import pytest

from credira.config import Settings
from credira.ratelimit.address import UNKNOWN, client_key, trusted_networks

PROXIES = trusted_networks("10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.254")


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 443) if peer is not None else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("request_scope", "expected"),
    [
        # No trusted proxy in front: the peer, whatever the header says.
        (scope("203.0.113.5", "198.51.100.1"), "203.0.113.5"),
        # The same through a trusted proxy: the hop to the right of the last trusted one.
        (scope("10.0.0.2", "198.51.100.1"), "198.51.100.1"),
        (scope("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.3.3.3"), "198.51.100.1"),
        (scope("192.0.2.254", "6.6.6.6", "198.51.100.1"), "198.51.100.1"),
        # Ports and brackets as some proxies write them.
        (scope("10.0.0.2", "198.51.100.1:5555"), "198.51.100.1"),
        (scope("10.0.0.2", "[2001:db8:1:2::9]:443"), "2001:db8:1:2::/64"),
        # A hop that is not an address stops the walk at the last one believed.
        (scope("10.0.0.2", "198.51.100.1, unknown"), "10.0.0.2"),
        # Only proxies: the leftmost of them.
        (scope("10.0.0.2", "10.0.0.9"), "10.0.0.9"),
        (scope("10.0.0.2"), "10.0.0.2"),
        # IPv6 by its /64; an IPv4-mapped address as the IPv4 one.
        (scope("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64"),
        (scope("::ffff:203.0.113.5"), "203.0.113.5"),
        (scope("2001:db8:ffff:1::1", "198.51.100.1"), "198.51.100.1"),
        # A server that does not say (a Unix socket).
        (scope(None, "198.51.100.1"), UNKNOWN),
    ],
)
def test_client_is_the_peer_unless_a_trusted_proxy_names_it(
    request_scope: dict[str, Any], expected: str
) -> None:
    assert client_key(request_scope, PROXIES) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert trusted_networks("") == ()
    assert client_key(scope("10.0.0.2", "198.51.100.1")) == "10.0.0.2"


def test_a_trusted_proxy_setting_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match=r"proxy\.example"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")
