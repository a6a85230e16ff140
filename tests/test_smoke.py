from __future__ import annotations

from tests.support import Api


async def test_create_and_update_callout(api: Api) -> None:
    tenant = await api.tenant()
    _invoice, _agent, callout = await tenant.scenario()
    assert callout["status"] == "scheduled"
    body = await tenant.ok("PUT", f"/v1/callouts/{callout['id']}", json={"priority": "low"})
    assert body["data"]["priority"] == "low"
