"""A call start whose answer is lost, with the providers that cannot dedupe a repeated create
(Vapi, Retell): the provider placed the call (or not) and Credira ends with exactly one call,
whenever the answer is lost and whenever the call shows at the provider, including after the
adapter's own lookups are spent; a provider that placed nothing leaves the callout scheduled
for its retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from credira.channel.voice.port import CallRequest, CallStartUnclear
from credira.config import Settings
from tests.support import Api, Tenant, eventually, free_port, worker_app_settings
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
# The adapters' request timeout here: an unanswered create is looked up 4 times within 3.4 s,
# then every 1.5 s; "not listed" means "not placed" 7.5 s after the create.
TIMEOUT = 0.75


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return worker_app_settings(database_url, tmp_path / "data").model_copy(
        update={
            "provider_timeout_seconds": TIMEOUT,
            "provider_poll_seconds": 0.5,
            "worker_analysis_processes": 0,
        }
    )


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


# The tests that wait out the adapter's settling window (seconds each) run with one provider
# each, in turn: what they prove is the shared part (``hosted.HostedCalls``: the attempt kept
# open, the lookups, "not listed" taken for "not placed" only once the call would show); each
# provider's own lookup (its call list, filtered by our call id) is proven by the tests that
# find a placed call, which run with both.
ONE_PROVIDER = {"argnames": "provider", "indirect": True}


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
    provider.fake.create_delay = 2 * TIMEOUT  # placed, and the answer lost
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    await one_call_completed(provider, tenant, invoice, callout_id)


async def test_a_call_placed_whose_connection_drops_is_found(api: Api, provider: Provider) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550172"
    provider.scenario(phone, quiet=True)  # found by the lookup alone, no callback naming it
    provider.fake.drop_create = True
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    await one_call_completed(provider, tenant, invoice, callout_id)


@pytest.mark.parametrize(argvalues=["vapi"], **ONE_PROVIDER)
async def test_a_call_placed_after_the_adapters_lookups_are_spent_is_found(
    api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550173"
    provider.scenario(phone, quiet=True)
    # The provider acts on the create only once the request timed out and the adapter's four
    # lookups found nothing: the attempt stays open, and a later lookup finds the call.
    provider.fake.hold_create = held = asyncio.Event()
    invoice, callout_id = await call_out(tenant, phone, provider=provider.name)
    try:
        await eventually(lambda: _true(provider.fake.lists >= 4), within=30)
    finally:
        held.set()
    await one_call_completed(provider, tenant, invoice, callout_id)
    assert provider.fake.lists > 4


@pytest.mark.parametrize(argvalues=["retell"], **ONE_PROVIDER)
async def test_not_found_is_not_taken_for_not_placed_until_the_call_would_show(
    app: FastAPI, api: Api, provider: Provider
) -> None:
    tenant = await provider.tenant(api)
    phone = "+14155550179"
    provider.scenario(phone)
    request = await dial_request(tenant, phone)
    adapter = app.state.runtime.voice.get(provider.name)
    provider.fake.hold_create = held = asyncio.Event()
    try:
        with pytest.raises(CallStartUnclear):
            await adapter.start_call(request)  # timed out; four lookups found nothing
        with pytest.raises(CallStartUnclear):
            await adapter.start_call(request)  # still nothing, and it is still too soon
    finally:
        held.set()
    await eventually(lambda: _true(bool(provider.placed)))
    found = await adapter.start_call(request)
    assert [found] == provider.placed
    assert provider.fake.creates == 1


async def _true(value: bool) -> bool:
    return value


async def dial_request(tenant: Tenant, phone: str) -> CallRequest:
    """An attempt's request, as the worker makes it, for a test to dial with the adapter."""
    call_id = await call_row(tenant, phone)
    return CallRequest(
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


@pytest.mark.parametrize(argvalues=["retell"], **ONE_PROVIDER)
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
    request = await dial_request(tenant, phone)
    adapter = app.state.runtime.voice.get(provider.name)
    provider.fake.create_delay = 2 * TIMEOUT
    dialling = asyncio.create_task(adapter.start_call(request))
    while not provider.placed:  # noqa: ASYNC110 - placed, not answered yet
        await asyncio.sleep(0.01)
    dialling.cancel()  # the worker dies while the provider is answering
    with pytest.raises(asyncio.CancelledError):
        await dialling
    found = await adapter.start_call(request)  # the attempt resumed
    assert [found] == provider.placed
    assert provider.fake.creates == 1
