"""Request rate limits as a client meets them: per key, per account, and on placing calls."""

from __future__ import annotations

import httpx

from tests.ratelimit.helpers import MakeApi
from tests.support import ADMIN_KEY, Tenant, bearer

HOUR = 3600
CALLS_MESSAGE = "Too many call requests. Please wait before making another call."


def assert_rate_limited(reply: httpx.Response, message: str, *, limit: int) -> None:
    """A 429 in the error envelope, saying when to come back and which limit ran out."""
    assert reply.status_code == 429, reply.text
    body = reply.json()
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMITED"
    assert body["error"]["message"] == message
    assert body["meta"]["request_id"] == reply.headers["x-request-id"]
    retry_after = int(reply.headers["retry-after"])
    # The windows are an hour long and the test takes seconds.
    assert HOUR - 60 <= retry_after <= HOUR
    assert reply.headers["ratelimit-limit"] == str(limit)
    assert reply.headers["ratelimit-remaining"] == "0"
    assert reply.headers["ratelimit-reset"] == str(retry_after)


async def list_calls(tenant: Tenant, invoice_id: str) -> httpx.Response:
    return await tenant.request("GET", "/v1/calls", params={"invoice_id": invoice_id})


async def test_key_past_its_limit_is_refused_with_retry_after_and_ratelimit_fields(
    make_api: MakeApi,
) -> None:
    api = await make_api(rate_limit_per_key="3/hour")
    tenant = await api.tenant()
    invoice = await tenant.invoice()  # 1
    for _ in range(2):  # 2, 3
        assert (await list_calls(tenant, invoice["id"])).status_code == 200

    refused = await list_calls(tenant, invoice["id"])

    assert_rate_limited(refused, "Rate limit exceeded", limit=3)


async def test_any_authenticated_request_counts_and_is_refused_past_the_limit(
    make_api: MakeApi,
) -> None:
    api = await make_api(rate_limit_per_key="1/hour")
    tenant = await api.tenant()
    assert (await tenant.request("GET", "/v1/calls")).status_code == 400  # counted

    # Each would otherwise be a VALIDATION_ERROR, a NOT_FOUND, a FORBIDDEN or NOT_FOUND.
    for method, path, body in [
        ("POST", "/v1/invoices", {"number": "INV-9"}),
        ("GET", "/v1/callouts/callout_nope", None),
        ("DELETE", "/v1/users/user_0123456789", None),
    ]:
        refused = await tenant.request(method, path, json=body)
        assert_rate_limited(refused, "Rate limit exceeded", limit=1)


async def test_refused_write_changes_nothing(make_api: MakeApi) -> None:
    api = await make_api(rate_limit_per_key="2/hour")
    tenant = await api.tenant()
    invoice = await tenant.invoice()  # 1
    agent = await tenant.agent()  # 2

    refused = await tenant.request(
        "POST",
        "/v1/callouts",
        json={
            "invoice_id": invoice["id"],
            "scheduled_time": "2030-01-20T10:00:00Z",
            "actions": {"calls_enabled": True, "voice_agent_id": agent["id"]},
        },
    )

    assert_rate_limited(refused, "Rate limit exceeded", limit=2)
    other_key = await api.tenant(account_id=tenant.account_id)
    listed = await other_key.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
    assert listed["data"] == []


async def test_limits_are_per_key_and_per_account(make_api: MakeApi) -> None:
    # (The admin key creating the three users is a key of its own, with 3 requests too.)
    api = await make_api(rate_limit_per_key="3/hour", rate_limit_per_account="4/hour")
    first = await api.tenant()
    second = await api.tenant(account_id=first.account_id)  # another key, same account
    stranger = await api.tenant()  # another account
    invoice = await first.invoice()  # first key: 1 of 3; account: 1 of 4
    for _ in range(2):  # first key: 3 of 3; account: 3 of 4
        assert (await list_calls(first, invoice["id"])).status_code == 200

    # The first key is spent; its refused request does not use up the account's allowance.
    assert_rate_limited(await list_calls(first, invoice["id"]), "Rate limit exceeded", limit=3)
    assert (await list_calls(second, invoice["id"])).status_code == 200  # 1 of 3; 4 of 4
    # The second key has two left, but its account has none.
    assert_rate_limited(await list_calls(second, invoice["id"]), "Rate limit exceeded", limit=4)
    # Another account is untouched.
    for _ in range(3):
        assert (await stranger.request("GET", f"/v1/users/{stranger.user_id}")).status_code == 200


async def test_admin_key_is_limited_as_a_key(make_api: MakeApi) -> None:
    api = await make_api(rate_limit_per_key="2/hour")
    await api.tenant()
    await api.tenant()

    refused = await api.client.post(
        "/v1/users",
        json={"email": "third@acme.example.com", "name": "Jane Roe", "company": "Acme"},
        headers=bearer(ADMIN_KEY),
    )

    assert_rate_limited(refused, "Rate limit exceeded", limit=2)


# -- POST /v1/calls ------------------------------------------------------------------------


async def create_call(
    tenant: Tenant, invoice_id: str, agent_id: str, **headers: str
) -> httpx.Response:
    return await tenant.request(
        "POST",
        "/v1/calls",
        json={"phone_number": "+14155550100", "invoice_id": invoice_id, "voice_agent_id": agent_id},
        headers=headers,
    )


async def test_placing_calls_past_the_tighter_limit_is_refused_with_its_message(
    make_api: MakeApi,
) -> None:
    api = await make_api(rate_limit_create_call="2/hour", rate_limit_per_key="50/hour")
    tenant = await api.tenant()
    other_key = await api.tenant(account_id=tenant.account_id)
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    for _ in range(2):
        assert (await create_call(tenant, invoice["id"], agent["id"])).status_code == 201

    # The limit is the account's: another of its keys is refused too.
    for caller in (tenant, other_key):
        refused = await create_call(caller, invoice["id"], agent["id"])
        assert_rate_limited(refused, CALLS_MESSAGE, limit=2)

    # Nothing was placed by the refused requests, and other endpoints still answer.
    listed = await tenant.ok("GET", "/v1/calls", params={"invoice_id": invoice["id"]})
    assert listed["meta"]["total_calls"] == 2


async def test_call_limit_counts_neither_invalid_requests_nor_idempotent_replays(
    make_api: MakeApi,
) -> None:
    api = await make_api(rate_limit_create_call="2/hour")
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    invalid = await tenant.request("POST", "/v1/calls", json={"invoice_id": invoice["id"]})
    assert invalid.status_code == 400
    first = await create_call(tenant, invoice["id"], agent["id"], **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    replayed = await create_call(tenant, invoice["id"], agent["id"], **{"Idempotency-Key": "k-1"})
    assert replayed.headers.get("idempotent-replayed") == "true"

    assert (await create_call(tenant, invoice["id"], agent["id"])).status_code == 201
    refused = await create_call(tenant, invoice["id"], agent["id"])

    assert_rate_limited(refused, CALLS_MESSAGE, limit=2)


# -- the RateLimit-* fields on admitted requests -------------------------------------------


async def test_middleware_shows_the_tightest_limit_on_every_admitted_reply(
    make_api: MakeApi,
) -> None:
    api = await make_api(
        with_headers=True, rate_limit_per_key="5/hour", rate_limit_per_account="3/hour"
    )
    tenant = await api.tenant()

    found = await tenant.request("GET", f"/v1/users/{tenant.user_id}")
    missing = await tenant.request("GET", "/v1/callouts/callout_0000000000")

    assert found.status_code == 200
    # Key: 4 of 5 left; account: 2 of 3 left. The account is the closer to refusing.
    assert found.headers["ratelimit-limit"] == "3"
    assert found.headers["ratelimit-remaining"] == "2"
    assert HOUR - 60 <= int(found.headers["ratelimit-reset"]) <= HOUR
    assert "retry-after" not in found.headers
    assert missing.status_code == 404, missing.text
    assert missing.headers["ratelimit-remaining"] == "1"


async def test_refusal_carries_only_the_refusing_limit(make_api: MakeApi) -> None:
    api = await make_api(
        with_headers=True, rate_limit_per_key="50/hour", rate_limit_create_call="1/hour"
    )
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    agent = await tenant.agent()
    assert (await create_call(tenant, invoice["id"], agent["id"])).status_code == 201

    refused = await create_call(tenant, invoice["id"], agent["id"])

    assert_rate_limited(refused, CALLS_MESSAGE, limit=1)
    assert refused.headers.get_list("ratelimit-limit") == ["1"]
    assert refused.headers.get_list("ratelimit-remaining") == ["0"]


async def test_admitted_replies_carry_ratelimit_fields(make_api: MakeApi) -> None:
    api = await make_api(rate_limit_per_key="5/hour")
    tenant = await api.tenant()

    reply = await tenant.request("GET", f"/v1/users/{tenant.user_id}")

    assert reply.status_code == 200
    assert reply.headers["ratelimit-limit"] == "5"
    assert reply.headers["ratelimit-remaining"] == "4"
