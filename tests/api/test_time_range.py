"""Times and dates on the wire: every one we write is ISO 8601 with a four-digit year that we
accept back, and every one we read lies between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z
(dates between 1970-01-01 and 9999-12-31); outside that range the reply is VALIDATION_ERROR
naming the field and stating the range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from credira.kit.clock import format_time
from tests.shapes import TIMESTAMP
from tests.support import Api, Tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIME_RANGE = "between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
DATE_RANGE = "between 1970-01-01 and 9999-12-31"

# Each refused whatever the endpoint: before 1970 or after 9999 once read as an instant in UTC.
OUT_OF_RANGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:30:00+01:00",
    "9999-12-31T23:59:59-00:01",
    "10000-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
]
OUT_OF_RANGE_DATES = ["0001-01-01", "0999-12-31", "1969-12-31"]


async def _world(api: Api) -> tuple[Tenant, dict[str, Any], dict[str, Any], dict[str, Any]]:
    tenant = await api.tenant()
    invoice, agent, callout = await tenant.scenario()
    return tenant, invoice, agent, callout


def _time_requests(
    tenant: Tenant, invoice: dict[str, Any], agent: dict[str, Any], callout: dict[str, Any]
) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every request field that takes a time: (method, path, body without the time)."""
    return {
        "create-callout": (
            "POST",
            "/v1/callouts",
            {"invoice_id": invoice["id"], "actions": {"voice_agent_id": agent["id"]}},
        ),
        "update-callout": ("PUT", f"/v1/callouts/{callout['id']}", {}),
        "create-call": (
            "POST",
            "/v1/calls",
            {
                "phone_number": "+14155550100",
                "invoice_id": invoice["id"],
                "voice_agent_id": agent["id"],
            },
        ),
        "send-email": (
            "POST",
            "/v1/send-email",
            {
                "template_id": "{template}",
                "recipient_email": "john.doe@example.com",
                "callout_id": callout["id"],
            },
        ),
    }


async def _template_id(tenant: Tenant) -> str:
    listed = await tenant.ok("GET", "/v1/email-templates", params={"account_id": tenant.account_id})
    return str(listed["data"][0]["id"])


def _assert_refused(response: httpx.Response, field: str, range_text: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert range_text in error["details"], error


async def test_times_before_the_year_1000_do_not_round_trip_they_are_refused_with_the_range(
    shared_api: Api,
) -> None:
    tenant, invoice, agent, callout = await _world(shared_api)
    template_id = await _template_id(tenant)
    for name, (method, path, base) in _time_requests(tenant, invoice, agent, callout).items():
        for value in OUT_OF_RANGE_TIMES:
            body = {**base, "scheduled_time": value}
            if body.get("template_id") == "{template}":
                body["template_id"] = template_id
            response = await tenant.request(method, path, json=body)
            assert response.status_code == 422, (name, value, response.text)
            _assert_refused(response, "scheduled_time", TIME_RANGE)
    # Nothing was written: the callout keeps its time, the invoice has its one callout.
    listed = await tenant.ok("GET", "/v1/callouts", params={"invoice_id": invoice["id"]})
    assert listed["data"] == [callout]


async def test_dates_before_1970_are_refused_with_the_range(shared_api: Api) -> None:
    tenant, invoice, _agent, _callout = await _world(shared_api)
    base = {
        "number": "INV-DATES",
        "amount": "10.00",
        "currency": "USD",
        "customer": {"name": "John Doe"},
    }
    for value in OUT_OF_RANGE_DATES:
        created = await tenant.request("POST", "/v1/invoices", json={**base, "due_date": value})
        _assert_refused(created, "due_date", DATE_RANGE)
        updated = await tenant.request(
            "PUT", f"/v1/invoices/{invoice['id']}", json={"due_date": value}
        )
        _assert_refused(updated, "due_date", DATE_RANGE)
    assert (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"] == invoice


def _times_in(value: Any) -> list[str]:
    """Every string under a key ending in ``_time`` (or ``timestamp``) of a reply."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith("_time") or key == "timestamp"):
                found.append(item)
            else:
                found += _times_in(item)
    elif isinstance(value, list):
        for item in value:
            found += _times_in(item)
    return found


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("1970-01-01T05:30:00+05:30", "1970-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T20:59:59-03:00", "9999-12-31T23:59:59Z"),
    ],
    ids=["first-instant", "first-instant-with-offset", "last-instant", "last-instant-with-offset"],
)
async def test_times_at_the_ends_of_the_range_round_trip(
    shared_api: Api, sent: str, written: str
) -> None:
    tenant, invoice, agent, callout = await _world(shared_api)
    template_id = await _template_id(tenant)
    for name, (method, path, base) in _time_requests(tenant, invoice, agent, callout).items():
        body = {**base, "scheduled_time": sent}
        if body.get("template_id") == "{template}":
            body["template_id"] = template_id
        reply = await tenant.ok(method, path, json=body)
        assert reply["data"]["scheduled_time"] == written, name
        for value in _times_in(reply):
            assert TIMESTAMP.fullmatch(value), (name, value)
    # What we wrote is accepted back as it is.
    again = await tenant.ok(
        "PUT", f"/v1/callouts/{callout['id']}", json={"scheduled_time": written}
    )
    assert again["data"]["scheduled_time"] == written
    fetched = await tenant.ok("GET", f"/v1/callouts/{callout['id']}")
    assert fetched["data"]["scheduled_time"] == written


@pytest.mark.parametrize("due_date", ["1970-01-01", "9999-12-31"])
async def test_dates_at_the_ends_of_the_range_round_trip(shared_api: Api, due_date: str) -> None:
    tenant = await shared_api.tenant()
    invoice = await tenant.invoice(due_date=due_date)
    assert invoice["due_date"] == due_date
    again = await tenant.ok("PUT", f"/v1/invoices/{invoice['id']}", json={"due_date": due_date})
    assert again["data"]["due_date"] == due_date


@pytest.mark.parametrize(
    ("instant", "written"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59Z"),
    ],
)
async def test_times_before_the_year_1000_are_written_with_four_digits(
    instant: datetime, written: str
) -> None:
    # A row stored by an older version may hold such a time: it is still written as ISO 8601.
    assert format_time(instant) == written
