"""The email-template endpoints: the documented list, CRUD, ETags, the sandbox at the API, the
default templates of a new account, and picking and counting templates for the sender."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from credira.email_template import repository
from credira.errors import Conflict, NotFound
from tests.email_template.helpers import (
    DOC_HTML,
    DOC_ITEM,
    DOCUMENTED_LIST,
    SSTI_PAYLOADS,
    create_template,
    error_of,
    list_templates,
    template_body,
)
from tests.shapes import assert_same_shape, json_type
from tests.support import ADMIN_KEY, Api, bearer


async def test_list_has_the_documented_shape(api: Api, app: FastAPI) -> None:
    tenant = await api.tenant()
    created = await create_template(tenant)
    async with app.state.runtime.sessionmaker() as session:
        template = await repository.get(session, tenant.account_id, created["id"])
        assert template is not None
        await repository.record_use(session, template, datetime(2024, 1, 15, 9, 30, tzinfo=UTC))
        await session.commit()

    body = await list_templates(tenant)

    ours = [t for t in body["data"] if t["id"] == created["id"]]
    assert len(ours) == 1
    # has_more is the cursor-pagination extension every list adds (API.md §3).
    assert_same_shape(
        {**body, "data": ours}, DOCUMENTED_LIST, optional=frozenset({"$.meta.has_more"})
    )
    item = ours[0]
    for key in ("name", "subject", "category", "status", "html_content", "text_content"):
        assert item[key] == DOC_ITEM[key], key
    assert item["variables"] == DOC_ITEM["variables"]
    assert item["metadata"] == DOC_ITEM["metadata"]
    assert item["account_id"] == tenant.account_id
    assert item["created_by"] == tenant.user_id
    assert item["usage_count"] == 1
    assert item["last_used"] == "2024-01-15T09:30:00Z"
    assert item["id"].startswith("template_")
    # The account's two default templates are listed too, with the same keys.
    assert body["meta"]["total_templates"] == len(body["data"]) == 3
    for other in body["data"]:
        assert list(other) == list(DOC_ITEM)
        for key, value in other.items():
            if value is not None:
                assert json_type(value) == json_type(DOC_ITEM[key]), key


async def test_new_account_starts_with_a_reminder_and_a_follow_up(api: Api) -> None:
    tenant = await api.tenant()
    # A second user joining the account does not add templates.
    reply = await api.client.post(
        "/v1/users",
        json={
            "email": "second@acme.example.com",
            "name": "Jane Roe",
            "company": "Acme Corporation",
            "account_id": tenant.account_id,
        },
        headers=bearer(ADMIN_KEY),
    )
    assert reply.status_code == 201, reply.text

    body = await list_templates(tenant)

    by_category = {t["category"]: t for t in body["data"]}
    assert body["meta"]["total_templates"] == 2
    assert set(by_category) == {"payment_reminder", "follow_up"}
    for template in body["data"]:
        assert template["status"] == "active"
        assert template["usage_count"] == 0
        assert template["last_used"] is None
        assert {"customer_name", "invoice_number", "amount", "due_date"} <= set(
            template["variables"]
        )
        assert "payment_link" in template["variables"]
        assert template["html_content"].startswith("<!DOCTYPE html>")
        assert "{{ invoice_number }}" in template["subject"]


async def test_list_filters_by_status_and_category_and_pages(api: Api) -> None:
    tenant = await api.tenant()
    draft = await create_template(tenant, name="Draft", status="draft", category="welcome")
    inactive = await create_template(
        tenant, name="Old", status="inactive", category="payment_reminder"
    )
    marketing = await create_template(tenant, name="Promo", category="marketing")
    cases = [
        ("&status=draft", [draft["id"]]),
        ("&status=inactive", [inactive["id"]]),
        ("&category=marketing", [marketing["id"]]),
        ("&category=welcome&status=active", []),
        ("&category=payment_reminder&status=inactive", [inactive["id"]]),
    ]
    for query, expected in cases:
        body = await list_templates(tenant, query)
        assert [t["id"] for t in body["data"]] == expected, query
        assert body["meta"]["total_templates"] == len(expected), query
    assert (
        len((await list_templates(tenant, "&status=active"))["data"]) == 3
    )  # two defaults + Promo

    first = await list_templates(tenant, "&limit=2")
    rest = await list_templates(tenant, f"&limit=2&starting_after={first['data'][-1]['id']}")

    assert first["meta"]["has_more"] is True
    assert first["meta"]["total_templates"] == 5
    ids = [t["id"] for t in first["data"] + rest["data"]]
    assert ids[2:] == [draft["id"], inactive["id"], marketing["id"]][: len(ids) - 2]
    assert len(ids) == 4
    assert rest["meta"]["has_more"] is True


async def test_create_get_update_delete(api: Api) -> None:
    tenant = await api.tenant()
    reply = await tenant.request("POST", "/v1/email-templates", json=template_body())
    assert reply.status_code == 201
    created = reply.json()
    assert created["meta"]["message"] == "Email template created successfully"
    template_id = created["data"]["id"]
    path = f"/v1/email-templates/{template_id}"

    got = await tenant.request("GET", path)
    assert got.status_code == 200
    assert got.json()["data"] == created["data"]
    assert got.headers["etag"] == reply.headers["etag"]

    updated = await tenant.ok(
        "PUT",
        path,
        json={
            "subject": "Hello {{ customer_name|title }}",
            "text_content": "Pay {{ amount }} by {{ due_date }} ({{ days_overdue }} days late)",
            "status": "inactive",
            "metadata": {"priority": None, "owner": "ops"},
        },
    )
    data = updated["data"]
    assert updated["meta"]["message"] == "Email template updated successfully"
    assert data["subject"] == "Hello {{ customer_name|title }}"
    assert data["status"] == "inactive"
    assert data["html_content"] == DOC_HTML
    assert data["variables"] == [
        "customer_name",
        "invoice_number",
        "amount",
        "due_date",
        "days_overdue",
    ]
    assert data["metadata"] == {
        "department": "billing",
        "tags": ["payment", "reminder", "invoice"],
        "owner": "ops",
    }
    assert (await tenant.ok("GET", path))["data"] == data

    deleted = await tenant.ok("DELETE", path)
    assert deleted["data"]["id"] == template_id
    assert deleted["data"]["deleted"] is True
    assert deleted["meta"]["message"] == "Email template deleted successfully"
    assert (await error_of(tenant, "GET", path, 404))["message"] == "Email template not found"
    assert (await error_of(tenant, "DELETE", path, 404))["code"] == "NOT_FOUND"
    assert (await list_templates(tenant))["meta"]["total_templates"] == 2


async def test_update_with_a_stale_etag_is_refused_and_changes_nothing(api: Api) -> None:
    tenant = await api.tenant()
    created = await create_template(tenant)
    path = f"/v1/email-templates/{created['id']}"
    first = await tenant.request("GET", path)
    etag = first.headers["etag"]
    ok = await tenant.request("PUT", path, json={"name": "V2"}, headers={"If-Match": etag})
    assert ok.status_code == 200
    assert ok.headers["etag"] != etag

    error = await error_of(
        tenant, "PUT", path, 412, json={"name": "V3"}, headers={"If-Match": etag}
    )

    assert error["code"] == "PRECONDITION_FAILED"
    after = await tenant.request("GET", path)
    assert after.json()["data"]["name"] == "V2"
    assert after.headers["etag"] == ok.headers["etag"]


async def test_template_reaching_python_internals_is_refused_and_nothing_is_stored(
    api: Api,
) -> None:
    tenant = await api.tenant()
    existing = await create_template(tenant)
    path = f"/v1/email-templates/{existing['id']}"
    before = await list_templates(tenant)
    fields = ["html_content", "text_content", "subject"]

    for i, payload in enumerate(SSTI_PAYLOADS):
        field = fields[i % len(fields)]
        for method, url, body in (
            ("POST", "/v1/email-templates", template_body(**{field: payload})),
            ("PUT", path, {field: payload}),
        ):
            error = await error_of(tenant, method, url, 422, json=body)
            assert error["code"] == "VALIDATION_ERROR", (payload, error)
            assert error["message"].startswith("Template is not allowed: "), (payload, error)
            assert error["field"] == field, (payload, error)
            assert "<class" not in str(error)
            assert "__globals__" not in error["message"]

    assert (await list_templates(tenant))["data"] == before["data"]


async def test_sender_picks_the_oldest_active_template_and_counts_its_use(
    api: Api, app: FastAPI
) -> None:
    tenant = await api.tenant()
    other = await api.tenant("Globex")
    defaults = {t["category"]: t for t in (await list_templates(tenant))["data"]}
    draft = await create_template(tenant, status="draft")
    newer = await create_template(tenant, name="Newer reminder")
    foreign = await create_template(other)
    account = tenant.account_id
    now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

    async with app.state.runtime.sessionmaker() as session:
        picked = await repository.pick_template(session, account, None, "payment_reminder")
        assert picked.id == defaults["payment_reminder"]["id"]
        follow_up = await repository.pick_template(session, account, None, "follow_up")
        assert follow_up.id == defaults["follow_up"]["id"]
        assert (await repository.pick_template(session, account, newer["id"], "x")).id == newer[
            "id"
        ]
        with pytest.raises(Conflict):
            await repository.pick_template(session, account, draft["id"], "payment_reminder")
        with pytest.raises(NotFound):
            await repository.pick_template(session, account, foreign["id"], "payment_reminder")
        with pytest.raises(NotFound):
            await repository.pick_template(session, account, None, "marketing")
        await repository.record_use(session, picked, now)
        await repository.record_use(session, picked, now)
        assert picked.usage_count == 2
        await session.commit()

    path = f"/v1/email-templates/{defaults['payment_reminder']['id']}"
    reply = await tenant.request("GET", path)
    assert reply.json()["data"]["usage_count"] == 2
    assert reply.json()["data"]["last_used"] == "2024-03-01T12:00:00Z"
    # Usage is bookkeeping: a client's copy stays current for If-Match.
    put = await tenant.request(
        "PUT", path, json={"status": "inactive"}, headers={"If-Match": '"1"'}
    )
    assert put.status_code == 200, put.text

    async with app.state.runtime.sessionmaker() as session:
        picked = await repository.pick_template(session, account, None, "payment_reminder")
        assert picked.id == newer["id"]
