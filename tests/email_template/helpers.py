"""The documented template example (CREDIRA_DOCS.md §2.9), known template-injection payloads,
and helpers that drive the template endpoints as a client."""

from __future__ import annotations

from typing import Any

from tests.support import Tenant

# CREDIRA_DOCS.md §2.9, the documented template's three parts.
DOC_SUBJECT = "Payment Reminder - Invoice #{{invoice_number}}"
DOC_HTML = (
    "<html><body><h1>Payment Reminder</h1><p>Dear {{customer_name}},</p><p>This is a reminder "
    "that your invoice #{{invoice_number}} for ${{amount}} is due on {{due_date}}.</p><p>Please "
    "make your payment as soon as possible.</p><p>Best regards,<br>Credira Team</p></body></html>"
)
DOC_TEXT = (
    "Payment Reminder\n\nDear {{customer_name}},\n\nThis is a reminder that your invoice "
    "#{{invoice_number}} for ${{amount}} is due on {{due_date}}.\n\nPlease make your payment as "
    "soon as possible.\n\nBest regards,\nCredira Team"
)
DOC_VARIABLES = {
    "customer_name": "John Doe",
    "invoice_number": "INV-001",
    "amount": "1250.00",
    "due_date": "2024-01-30",
}

# Known server-side template injection payloads (and escapes from HTML auto-escaping). Each must
# be refused before anything renders.
SSTI_PAYLOADS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self }}",
    "{{ self._TemplateReference__context }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{{ customer_name|attr('__class__') }}",
    "{{ customer_name['__class__'] }}",
    "{{ (1).__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{% set x = customer_name %}{{ x }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% extends 'base.html' %}",
    "{% macro m() %}x{% endmacro %}{{ m() }}",
    "{{ range(10000000)|list }}",
    "{{ 'a' * 1000000000 }}",
    "{{ 7 * 7 }}",
    "{{ customer_name|safe }}",
    "{% autoescape false %}{{ customer_name }}{% endautoescape %}",
    "{{ customer_name|format('%s') }}",
    "{{ _private }}",
    "{{ customer_name ~ customer_name }}",
    "{% filter upper %}{{ customer_name }}{% endfilter %}",
]
LEAKS = ("<class", "object at 0x", "Traceback", "jinja2", "uid=", "__builtins__", "/etc/")


# CREDIRA_DOCS.md §2.9 GET /email-templates, the success reply, verbatim.
DOCUMENTED_LIST: dict[str, Any] = {
    "success": True,
    "data": [
        {
            "id": "template_123456789",
            "account_id": "acc_987654321",
            "name": "Payment Reminder Template",
            "subject": "Payment Reminder - Invoice #{{invoice_number}}",
            "category": "payment_reminder",
            "status": "active",
            "html_content": "<html><body><h1>Payment Reminder</h1><p>Dear {{customer_name}},</p><p>This is a reminder that your invoice #{{invoice_number}} for ${{amount}} is due on {{due_date}}.</p><p>Please make your payment as soon as possible.</p><p>Best regards,<br>Credira Team</p></body></html>",  # noqa: E501
            "text_content": "Payment Reminder\n\nDear {{customer_name}},\n\nThis is a reminder that your invoice #{{invoice_number}} for ${{amount}} is due on {{due_date}}.\n\nPlease make your payment as soon as possible.\n\nBest regards,\nCredira Team",  # noqa: E501
            "variables": ["customer_name", "invoice_number", "amount", "due_date"],
            "created_time": "2024-01-15T10:30:00Z",
            "updated_time": "2024-01-15T10:30:00Z",
            "created_by": "user_456789123",
            "usage_count": 150,
            "last_used": "2024-01-15T09:30:00Z",
            "metadata": {
                "department": "billing",
                "priority": "high",
                "tags": ["payment", "reminder", "invoice"],
            },
        }
    ],
    "meta": {
        "timestamp": "2024-01-15T10:30:00Z",
        "request_id": "req_123456789",
        "total_templates": 1,
    },
}
DOC_ITEM = DOCUMENTED_LIST["data"][0]


def template_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Payment Reminder Template",
        "subject": DOC_SUBJECT,
        "category": "payment_reminder",
        "status": "active",
        "html_content": DOC_HTML,
        "text_content": DOC_TEXT,
        "metadata": {
            "department": "billing",
            "priority": "high",
            "tags": ["payment", "reminder", "invoice"],
        },
    }
    body.update(overrides)
    return body


async def create_template(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    reply = await tenant.request("POST", "/v1/email-templates", json=template_body(**overrides))
    assert reply.status_code == 201, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


async def list_templates(tenant: Tenant, query: str = "") -> dict[str, Any]:
    return await tenant.ok("GET", f"/v1/email-templates?account_id={tenant.account_id}{query}")


async def error_of(
    tenant: Tenant, method: str, path: str, status: int, **kw: Any
) -> dict[str, Any]:
    reply = await tenant.request(method, path, **kw)
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is False
    error: dict[str, Any] = body["error"]
    return error
