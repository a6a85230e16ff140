"""Bad input to the template endpoints, and other accounts' templates: each case gets its
documented error and changes nothing. The cases share one app per backend (see conftest)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.email_template.helpers import create_template, error_of, list_templates, template_body
from tests.support import Api

pytestmark = pytest.mark.asyncio(loop_scope="module")

V = "VALIDATION_ERROR"
I = "INVALID_REQUEST"  # noqa: E741
SYNTAX = "Template is not allowed: syntax error on line 1: unexpected '}'"


@pytest.mark.parametrize(
    ("query", "status", "code", "message"),
    [
        ("", 400, "INVALID_REQUEST", "Missing required parameter: account_id"),
        ("?status=active", 400, "INVALID_REQUEST", "Missing required parameter: account_id"),
        ("?account_id=acc_987654321", 404, "NOT_FOUND", "Account not found"),
        ("?account_id=nope", 400, "INVALID_REQUEST", "Invalid account ID format"),
        ("?account_id={own}&status=archived", 422, "VALIDATION_ERROR", "Invalid value for status"),
        ("?account_id={own}&category=spam", 422, "VALIDATION_ERROR", "Invalid value for category"),
    ],
)
async def test_list_refuses_a_missing_foreign_or_bad_parameter(
    shared_api: Api, query: str, status: int, code: str, message: str
) -> None:
    tenant = await shared_api.tenant()
    path = "/v1/email-templates" + query.format(own=tenant.account_id)

    error = await error_of(tenant, "GET", path, status)

    assert (error["code"], error["message"]) == (code, message)


async def test_list_of_another_account_is_not_found(shared_api: Api) -> None:
    a = await shared_api.tenant("Acme")
    b = await shared_api.tenant("Globex")

    error = await error_of(b, "GET", f"/v1/email-templates?account_id={a.account_id}", 404)

    assert error == {"code": "NOT_FOUND", "message": "Account not found"}


@pytest.mark.parametrize(
    ("method", "change", "status", "code", "message", "field"),
    [
        ("POST", {"name": None}, 422, V, "Invalid value for name", "name"),
        ("POST", {"category": "spam"}, 422, V, "Invalid value for category", "category"),
        ("POST", {"status": "archived"}, 422, V, "Invalid value for status", "status"),
        ("POST", {"subject": "A\r\nBcc: x@y"}, 422, V, "Invalid value for subject", "subject"),
        ("POST", {"html_content": ""}, 422, V, "Invalid value for html_content", "html_content"),
        ("POST", {"variables": ["x"]}, 400, I, "Field variables is set by the server", None),
        ("POST", {"usage_count": 9}, 400, I, "Field usage_count is set by the server", None),
        ("POST", {"colour": "red"}, 400, I, "Unknown field: colour", None),
        ("PUT", {"subject": "{{ a }"}, 422, V, SYNTAX, "subject"),
        ("PUT", {"account_id": "acc_1"}, 400, I, "Field account_id is set by the server", None),
        ("PUT", {"category": "spam"}, 422, V, "Invalid value for category", "category"),
    ],
)
async def test_bad_template_input_gets_its_error_and_changes_nothing(
    shared_api: Api,
    method: str,
    change: dict[str, Any],
    status: int,
    code: str,
    message: str,
    field: str | None,
) -> None:
    tenant = await shared_api.tenant()
    existing = await create_template(tenant)
    path = f"/v1/email-templates/{existing['id']}"
    before = await tenant.ok("GET", path)
    if method == "POST":
        error = await error_of(
            tenant, "POST", "/v1/email-templates", status, json=template_body(**change)
        )
    else:
        error = await error_of(tenant, "PUT", path, status, json=change)

    assert (error["code"], error["message"]) == (code, message)
    assert error.get("field") == field
    assert (await tenant.ok("GET", path))["data"] == before["data"]
    assert (await list_templates(tenant))["meta"]["total_templates"] == 3


async def test_missing_name_is_a_missing_field(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    body = template_body()
    del body["name"]

    error = await error_of(tenant, "POST", "/v1/email-templates", 400, json=body)

    assert error["message"] == "Missing required field: name"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_template_of_another_account_is_not_found_and_untouched(
    shared_api: Api, method: str
) -> None:
    a = await shared_api.tenant("Acme")
    b = await shared_api.tenant("Globex")
    theirs = await create_template(a)
    path = f"/v1/email-templates/{theirs['id']}"
    kwargs = {"json": {"name": "Mallory"}} if method == "PUT" else {}

    error = await error_of(b, method, path, 404, **kwargs)

    assert error == {"code": "NOT_FOUND", "message": "Email template not found"}
    assert (await a.ok("GET", path))["data"] == theirs


async def test_bad_template_id_format_is_invalid_request(shared_api: Api) -> None:
    tenant = await shared_api.tenant()

    error = await error_of(tenant, "GET", "/v1/email-templates/callout_123", 400)

    assert error["message"] == "Invalid template ID format"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/email-templates?account_id={own}", None),
        ("POST", "/v1/email-templates", template_body()),
    ],
)
async def test_key_without_email_permissions_is_forbidden(
    shared_api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    tenant = await shared_api.tenant(permissions=["calls:read", "calls:write"])

    error = await error_of(tenant, method, path.format(own=tenant.account_id), 403, json=body)

    assert error["code"] == "FORBIDDEN"
