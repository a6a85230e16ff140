"""The SSRF guard with its default setting: loopback is refused, as a literal address when
the endpoint is saved and, for a name, on the address it resolves to when delivering."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from credira.config import Settings
from credira.webhook.guard import Policy
from tests.support import Api, eventually, worker_app_settings
from tests.webhook.receiver import Receiver
from tests.webhook.test_delivery import deliveries, subscribe


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return worker_app_settings(database_url, tmp_path / "data")


async def test_the_guard_refuses_loopback_by_default(api: Api) -> None:
    tenant = await api.tenant()
    async with Receiver() as receiver:
        literal = await tenant.request(
            "POST", "/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}
        )
        assert literal.status_code == 422, literal.text
        assert literal.json()["error"]["field"] == "url"
        # A name is judged after DNS, on the address connected to.
        by_name = receiver.url.replace("127.0.0.1", "localhost")
        hook = await subscribe(tenant, by_name, "invoice.created")
        await tenant.invoice()

        async def refused() -> dict[str, Any] | None:
            found = await deliveries(tenant, hook["id"])
            return found[0] if found and found[0]["attempts"] else None

        delivery = await eventually(refused, within=10)
        assert receiver.received == []
    attempt = delivery["attempts"][0]
    assert attempt["status_code"] is None
    assert "SSRF" in attempt["error"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not one bound)
        "224.0.0.1",
        "239.255.255.250",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
    ],
)
def test_policy_refuses_inside_addresses(address: str) -> None:
    assert not Policy().allows(ip_address(address))


def test_policy_allows_public_addresses_and_the_configured_networks() -> None:
    assert Policy().allows(ip_address("93.184.216.34"))
    assert Policy().allows(ip_address("2606:2800:220:1:248:1893:25c8:1946"))
    assert Policy("127.0.0.0/8, 10.0.0.0/8").allows(ip_address("10.9.9.9"))
    assert not Policy("127.0.0.0/8").allows(ip_address("10.9.9.9"))
