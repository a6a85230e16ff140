"""A call start whose answer is lost, with the providers that cannot dedupe a repeated create
(Vapi, Retell): the provider placed the call (or not) and Credira ends with exactly one call,
whenever the answer is lost and whenever the call shows at the provider, including after the
adapter's own lookups are spent; a provider that placed nothing leaves the callout scheduled
for its retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from credira.channel.voice.port import CallRequest
from tests.support import Api, Tenant, eventually, free_port
from tests.telephony.fake_retell import FakeRetell
from tests.telephony.fake_retell import Scenario as RetellScenario
from tests.telephony.fake_vapi import FakeVapi
from tests.telephony.fake_vapi import Scenario as VapiScenario
from tests.telephony.flows import CALLER_ID, call_out, call_row, settled, the_call
from tests.telephony.test_retell import API_KEY as RETELL_KEY
from tests.telephony.test_retell import retell_tenant
from tests.telephony.test_vapi import API_KEY as VAPI_KEY
from tests.telephony.test_vapi import PHONE_NUMBER, SECRET, vapi_tenant

Fake = FakeVapi | FakeRetell


@dataclass
class Provider:
    name: str
    fake: Fake

    async def tenant(self, api: Api) -> Tenant:
        if isinstance(self.fake, FakeVapi):
            return await vapi_tenant(api, self.fake)
        return await retell_tenant(api, self.fake)

    def scenario(self, phone: str, *, quiet: bool = False) -> None:
        if isinstance(self.fake, FakeVapi):
            self.fake.scenarios[phone] = VapiScenario(quiet=quiet)
        else:
            self.fake.scenarios[phone] = RetellScenario(quiet=quiet)

    @property
    def placed(self) -> list[str]:
        """The ids of the calls the provider placed."""
        return list(self.fake.calls)


@pytest.fixture(params=["vapi", "retell"])
async def provider(
    request: pytest.FixtureRequest, client: httpx.AsyncClient
) -> AsyncIterator[Provider]:
    fake: Fake = (
        FakeVapi(VAPI_KEY, PHONE_NUMBER, SECRET, client)
        if request.param == "vapi"
        else FakeRetell(RETELL_KEY, "agent_" + "a" * 24, client)
    )
    async with fake:
        yield Provider(request.param, fake)
    assert fake.problems == []


async def one_call_completed(
    provider: Provider, tenant: Tenant, invoice: dict[str, Any], callout_id: str
) -> None:
    """The callout completed on the one call the provider placed, its conversation read."""
    callout = await settled(tenant, callout_id)
    assert callout["status"] == "completed", callout
    assert provider.fake.creates == 1
    [placed] = provider.placed
    call = await the_call(tenant, invoice["id"])
    assert call["provider_call_id"] == placed
    assert call["status"] == "completed"
    assert call["outcome"] in ("dispute", "promise_to_pay")


async def test_a_call_placed_whose_answer_times_out_is_found(api: Api, provider: Provider) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550171"
    provider.scenario(phone)
    provider.fake.create_delay = 1.5  # past the adapter's 0.5 s: placed, the answer lost
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    await one_call_completed(provider, tenant, invoice, callout_id)


async def test_a_call_placed_whose_connection_drops_is_found(api: Api, provider: Provider) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550172"
    provider.scenario(phone, quiet=True)  # found by the lookup alone, no callback naming it
    provider.fake.drop_create = True
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    await one_call_completed(provider, tenant, invoice, callout_id)


async def test_a_call_placed_after_the_adapters_lookups_are_spent_is_found(
    api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550173"
    provider.scenario(phone, quiet=True)
    # The provider acts on the create 4 s late: the request timed out (0.5 s), the adapter's
    # four lookups (1.75 s more) and the next one (a second later) found nothing; the attempt
    # stays open and the call is found by a later lookup, within the 5 s (10 request
    # timeouts) a placed call may take to show.
    provider.fake.place_delay = 4.0
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    await one_call_completed(provider, tenant, invoice, callout_id)
    assert provider.fake.lists > 4


async def test_a_create_that_placed_nothing_leaves_the_callout_to_its_retry(
    api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550174"
    provider.scenario(phone)
    provider.fake.lose_create = True  # no answer, and nothing placed
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    callout = await settled(tenant, callout_id)
    assert (callout["status"], callout["hold_reason"]) == ("scheduled", "retry_after_failed")
    assert provider.placed == []
    assert provider.fake.creates == 1  # never sent again within the attempt
    call = await the_call(tenant, invoice["id"])
    assert call["status"] == "failed"


async def test_a_provider_that_is_down_leaves_the_callout_to_its_retry(
    api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    down = {"api_base": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    await tenant.ok("PUT", f"/v1/account/providers/{provider.name}", json=down)
    _, callout_id = await call_out(tenant, "+14155550175", provider=provider.name)
    callout = await settled(tenant, callout_id)
    assert (callout["status"], callout["hold_reason"]) == ("scheduled", "retry_after_failed")


async def test_a_provider_down_for_a_while_is_retried_and_calls_once_it_is_back(
    api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    retries = {"max_call_attempts": 3, "retry_minutes": [0]}  # retried at once
    await tenant.ok("PUT", "/v1/account/settings", json=retries)
    phone = "+14155550178"
    provider.scenario(phone)
    provider.fake.down_for = 1
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)

    async def done() -> dict[str, Any] | None:
        data: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        return data if data["status"] != "scheduled" and data["status"] != "active" else None

    assert (await eventually(done, within=20))["status"] == "completed"
    listed = (await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]}))["data"]
    assert sorted(call["status"] for call in listed) == ["completed", "failed"]
    assert provider.fake.creates == 2
    assert len(provider.placed) == 1


async def test_a_dial_cut_off_by_the_workers_death_is_found_when_the_attempt_resumes(
    app: FastAPI, api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550176"
    provider.scenario(phone)
    call_id = await call_row(tenant, phone)
    adapter = app.state.runtime.voice.get(provider.name)
    request = CallRequest(
        idempotency_key=f"{call_id}:dial",
        to_number=phone,
        from_number=CALLER_ID,
        script="Hello.",
        language="en-US",
        voice="default",
        max_duration=120,
        metadata={"account_id": tenant.account_id, "call_id": call_id},
        variables={
            "invoice_number": "INV-9",
            "customer_name": "John Doe",
            "amount": "$10.00",
            "due_date": "2024-01-30",
        },
    )
    provider.fake.create_delay = 1.0
    dialling = asyncio.create_task(adapter.start_call(request))
    while not provider.placed:  # noqa: ASYNC110 - placed, not answered yet
        await asyncio.sleep(0.01)
    dialling.cancel()  # the worker dies while the provider is answering
    with pytest.raises(asyncio.CancelledError):
        await dialling
    found = await adapter.start_call(request)  # the attempt resumed
    assert [found] == provider.placed
    assert provider.fake.creates == 1
