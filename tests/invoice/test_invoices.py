"""Invoices' own endpoints (API.md §3): exact amounts, currency precision, unique numbers,
filters, and void as a terminal status."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, Tenant

CUSTOMER = {
    "name": "John Doe",
    "email": "john.doe@example.com",
    "phone": "+14155550100",
    "timezone": "America/New_York",
}


def invoice_body(number: str, **overrides: Any) -> dict[str, Any]:
    return {
        "number": number,
        "amount": "1250.00",
        "currency": "USD",
        "due_date": "2024-01-30",
        "customer": CUSTOMER,
        **overrides,
    }


async def list_invoices(tenant: Tenant, **params: Any) -> dict[str, Any]:
    return await tenant.ok("GET", "/v1/invoices", params=params)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1250.5", "USD", "1250.50"),
        (19.99, "USD", "19.99"),
        (0.1, "EUR", "0.10"),
        ("99999999999999.99", "USD", "99999999999999.99"),
        ("10.0", "JPY", "10"),
        ("1.234", "BHD", "1.234"),
    ],
)
async def test_create_invoice_keeps_the_amount_exact(
    api: Api, amount: str | float, currency: str, shown: str
) -> None:
    tenant = await api.tenant()

    created = await tenant.ok(
        "POST", "/v1/invoices", json=invoice_body("INV-001", amount=amount, currency=currency)
    )

    data = created["data"]
    assert created["meta"]["message"] == "Invoice created successfully"
    assert data["amount"] == shown
    assert data["currency"] == currency
    assert data["status"] == "open"
    assert data["customer"] == CUSTOMER
    assert (await tenant.ok("GET", f"/v1/invoices/{data['id']}"))["data"] == data


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10.001", "USD"),
        (10.001, "USD"),
        ("10.5", "JPY"),
    ],
)
async def test_create_invoice_refuses_more_places_than_the_currency_has(
    api: Api, amount: str | float, currency: str
) -> None:
    tenant = await api.tenant()

    response = await tenant.request(
        "POST", "/v1/invoices", json=invoice_body("INV-001", amount=amount, currency=currency)
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "amount" in error["message"]
    assert currency in error["details"]
    assert (await list_invoices(tenant))["data"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"due_date": "30/01/2024"}, "due_date"),
        ({"customer": {**CUSTOMER, "phone": "4155550100"}}, "customer.phone"),
    ],
)
async def test_create_invoice_refuses_bad_values(
    api: Api, change: dict[str, Any], field: str
) -> None:
    tenant = await api.tenant()
    response = await tenant.request("POST", "/v1/invoices", json=invoice_body("INV-1", **change))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["message"] or field in error.get("details", "")
    assert (await list_invoices(tenant))["data"] == []


async def test_update_invoice_refuses_precision_beyond_a_new_currency(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice(amount="10.50")
    response = await tenant.request(
        "PUT", f"/v1/invoices/{invoice['id']}", json={"currency": "JPY"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await tenant.ok("GET", f"/v1/invoices/{invoice['id']}"))["data"] == invoice


async def test_duplicate_invoice_number_conflicts(api: Api) -> None:
    tenant = await api.tenant()
    first = await tenant.ok("POST", "/v1/invoices", json=invoice_body("INV-7"))
    second = await tenant.ok("POST", "/v1/invoices", json=invoice_body("INV-8"))

    duplicate = await tenant.request("POST", "/v1/invoices", json=invoice_body("INV-7"))
    renamed = await tenant.request(
        "PUT", f"/v1/invoices/{second['data']['id']}", json={"number": "INV-7"}
    )

    for response in (duplicate, renamed):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "CONFLICT"
    listed = await list_invoices(tenant, number="INV-7")
    assert [i["id"] for i in listed["data"]] == [first["data"]["id"]]
    # Numbers are unique per account, not across accounts.
    stranger = await api.tenant(company="Globex")
    await stranger.ok("POST", "/v1/invoices", json=invoice_body("INV-7"))


async def test_list_invoices_filters_and_paginates(api: Api) -> None:
    tenant = await api.tenant()
    other_customer = {**CUSTOMER, "email": "mary@example.com"}
    a = (await tenant.ok("POST", "/v1/invoices", json=invoice_body("A-1")))["data"]
    b = (
        await tenant.ok("POST", "/v1/invoices", json=invoice_body("A-2", customer=other_customer))
    )["data"]
    c = (await tenant.ok("POST", "/v1/invoices", json=invoice_body("A-3")))["data"]
    await tenant.ok("PUT", f"/v1/invoices/{c['id']}", json={"status": "paid"})
    stranger = await api.tenant(company="Globex")
    await stranger.ok("POST", "/v1/invoices", json=invoice_body("A-1"))

    async def ids(**params: Any) -> tuple[list[str], int]:
        body = await list_invoices(tenant, **params)
        return [i["id"] for i in body["data"]], body["meta"]["total_invoices"]

    everything = sorted([a["id"], b["id"], c["id"]])
    assert await ids() == (everything, 3)
    assert await ids(status="open") == (sorted([a["id"], b["id"]]), 2)
    assert await ids(status="paid") == ([c["id"]], 1)
    assert await ids(number="A-2") == ([b["id"]], 1)
    assert await ids(customer_email="MARY@example.com") == ([b["id"]], 1)
    assert await ids(number="missing") == ([], 0)
    assert await ids(customer_email="not-an-email") == ([], 0)

    page = await list_invoices(tenant, limit=2)
    assert [i["id"] for i in page["data"]] == everything[:2]
    assert page["meta"]["has_more"] is True
    rest = await list_invoices(tenant, limit=2, starting_after=everything[1])
    assert [i["id"] for i in rest["data"]] == everything[2:]
    assert rest["meta"]["has_more"] is False

    bad = await tenant.request("GET", "/v1/invoices", params={"status": "overdue"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_void_invoice_is_terminal(api: Api) -> None:
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    path = f"/v1/invoices/{invoice['id']}"
    voided = (await tenant.ok("PUT", path, json={"status": "void", "status_reason": "typo"}))[
        "data"
    ]
    assert voided["status"] == "void"
    assert voided["status_reason"] == "typo"

    for status in ("open", "paid", "disputed"):
        response = await tenant.request("PUT", path, json={"status": status})
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "CONFLICT"
    assert (await tenant.ok("GET", path))["data"] == voided


async def test_paid_invoice_can_be_reopened(api: Api) -> None:
    # Only void is terminal: a payment that bounces reopens the debt.
    tenant = await api.tenant()
    invoice = await tenant.invoice()
    path = f"/v1/invoices/{invoice['id']}"
    await tenant.ok("PUT", path, json={"status": "paid"})
    reopened = (await tenant.ok("PUT", path, json={"status": "open"}))["data"]
    assert reopened["status"] == "open"


@pytest.mark.parametrize(
    ("invoice_id", "status", "code", "message"),
    [
        ("inv_123456789", 404, "NOT_FOUND", "Invoice not found"),
        ("invoice_123", 400, "INVALID_REQUEST", "Invalid invoice ID format"),
    ],
)
async def test_get_invoice_errors(
    api: Api, invoice_id: str, status: int, code: str, message: str
) -> None:
    tenant = await api.tenant()
    response = await tenant.request("GET", f"/v1/invoices/{invoice_id}")
    assert response.status_code == status, response.text
    assert response.json()["error"] == {"code": code, "message": message}


async def test_another_accounts_invoice_is_not_found(api: Api) -> None:
    tenant = await api.tenant()
    stranger = await api.tenant(company="Globex")
    theirs = await stranger.invoice()
    path = f"/v1/invoices/{theirs['id']}"
    for method, kwargs in (("GET", {}), ("PUT", {"json": {"status": "paid"}})):
        response = await tenant.request(method, path, **kwargs)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["message"] == "Invoice not found"
    assert (await stranger.ok("GET", path))["data"] == theirs
