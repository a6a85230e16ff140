"""Render amplification (issue 16, finding 3): what a template renders grows as the template's
size times its variables' length, so the template, each variable and each rendered part are
bounded (``CREDIRA_TEMPLATE_*``, ``CREDIRA_RENDERED_PART_MAX_CHARS``), and a render past its
bound stops without building the whole output. The voice agent's script is bounded the same way.
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credira.app import create_app
from credira.call.script import render_script
from credira.config import Settings
from credira.email_template.render import Limits, check_template, render
from credira.errors import ValidationFailed
from tests.email_template.helpers import create_template, error_of, list_templates, template_body
from tests.support import Api

DEFAULTS = Settings.model_construct()
TEMPLATE_MAX = DEFAULTS.template_max_chars
TAGS_MAX = DEFAULTS.template_max_tags
VARIABLE_MAX = DEFAULTS.template_variable_max_chars
RENDERED_MAX = DEFAULTS.rendered_part_max_chars
# What the audit sent: 40,000 placeholders.
AUDIT_TEMPLATE = "{{a}}" * 40_000


def test_render_amplification_defaults_fit_real_emails() -> None:
    # A dunning email is a few KiB; the bounds leave ample room and still stop amplification.
    assert (TEMPLATE_MAX, TAGS_MAX, VARIABLE_MAX, RENDERED_MAX) == (102_400, 300, 10_240, 262_144)
    assert DEFAULTS.template_max_variables == 100


def _peak(work: Callable[[], object]) -> int:
    """The peak of memory allocated while ``work`` runs, in bytes."""
    tracemalloc.start()
    try:
        with contextlib.suppress(ValidationFailed):
            work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def parts() -> dict[str, str]:
    return {"subject": "Invoice", "html_content": "<p>Hi</p>", "text_content": "Hi"}


@pytest.mark.parametrize("field", ["subject", "html_content", "text_content"])
def test_render_amplification_rendered_part_past_its_limit_is_refused_before_it_is_built(
    parts: dict[str, str], field: str
) -> None:
    # 300 placeholders (a small template) and a 10 KiB variable: 3 MB if it were rendered.
    parts[field] = "{{a}}" * TAGS_MAX
    variables = {"a": "x" * VARIABLE_MAX}

    def work() -> None:
        render(parts["subject"], parts["html_content"], parts["text_content"], variables)

    with pytest.raises(ValidationFailed) as caught:
        work()

    assert caught.value.code == "VALIDATION_ERROR"
    assert getattr(caught.value, "field", None) == field
    assert caught.value.message == f"Invalid value for {field}"
    # The subject is held to one mail line (998 characters) as well.
    limit = 998 if field == "subject" else RENDERED_MAX
    assert f"longer than {limit} characters" in str(caught.value.details)
    # The render stopped at the limit: far less than the 3 MB (6 MB as str) it would make.
    assert _peak(work) < 3 * RENDERED_MAX


def test_render_amplification_variable_past_its_limit_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        render("s", "<p>{{ a }}</p>", "{{ a }}", {"a": "x" * (VARIABLE_MAX + 1)})

    assert getattr(caught.value, "field", None) == "variables.a"
    assert caught.value.message == "Invalid value for variables.a"
    assert f"at most {VARIABLE_MAX} characters" in str(caught.value.details)


def test_render_amplification_render_near_the_limits_works() -> None:
    # 25 placeholders of a 10 KiB variable: 256,000 characters, just under the rendered limit.
    value = "x" * VARIABLE_MAX
    html = "{{a}}" * 25
    result = render("Invoice {{ n }}", html, html, {"a": value, "n": "INV-1"})

    assert result.html == value * 25
    assert result.text == value * 25
    assert result.subject == "Invoice INV-1"


def test_render_amplification_voice_script_is_bounded_without_being_built() -> None:
    # The longest script (20,000 characters) of the longest placeholder, with the longest payment
    # link an invoice may have (2,000 characters), would render 2.5 MB.
    script = "{{payment_link}}" * 1250
    link = "https://pay.example.com/" + "x" * 1976
    variables = {"payment_link": link}

    said = render_script(script, variables, max_chars=RENDERED_MAX)
    peak = _peak(lambda: render_script(script, variables, max_chars=RENDERED_MAX))

    assert len(said) <= RENDERED_MAX
    assert said.startswith(link)
    assert peak < 3 * RENDERED_MAX
    # A script under the limit is said whole.
    assert render_script("Hi {{ customer_name }}.", {"customer_name": "Jo"}, max_chars=10) == (
        "Hi Jo."
    )


# --- Through the API ---------------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("field", ["html_content", "text_content"])
async def test_render_amplification_template_of_40000_placeholders_is_refused_at_creation(
    shared_api: Api, field: str
) -> None:
    tenant = await shared_api.tenant()
    before = await list_templates(tenant)
    started = time.monotonic()

    error = await error_of(
        tenant, "POST", "/v1/email-templates", 422, json=template_body(**{field: AUDIT_TEMPLATE})
    )

    assert time.monotonic() - started < 2
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert error["message"] == f"Invalid value for {field}"
    assert f"at most {TEMPLATE_MAX} characters" in error["details"]
    after = await list_templates(tenant)
    assert after["meta"]["total_templates"] == before["meta"]["total_templates"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("change", "field", "details"),
    [
        ({"html_content": AUDIT_TEMPLATE}, "html_content", f"at most {TEMPLATE_MAX} characters"),
        ({"text_content": "{{a}}" * (TAGS_MAX + 1)}, "text_content", f"at most {TAGS_MAX} tags"),
    ],
)
async def test_render_amplification_template_update_past_a_limit_is_refused_and_changes_nothing(
    shared_api: Api, change: dict[str, Any], field: str, details: str
) -> None:
    tenant = await shared_api.tenant()
    existing = await create_template(tenant)
    path = f"/v1/email-templates/{existing['id']}"
    before = await tenant.ok("GET", path)

    error = await error_of(tenant, "PUT", path, 422, json=change)

    assert (error["code"], error["field"]) == ("VALIDATION_ERROR", field)
    assert details in error["details"]
    assert (await tenant.ok("GET", path))["data"] == before["data"]


@pytest.mark.asyncio(loop_scope="module")
async def test_render_amplification_template_at_the_limits_is_accepted(shared_api: Api) -> None:
    tenant = await shared_api.tenant()
    tags = "{{ a }}" * (TAGS_MAX - 1) + "{{ b }}"
    html = tags + "x" * (TEMPLATE_MAX - len(tags))
    assert len(html) == TEMPLATE_MAX

    created = await create_template(tenant, html_content=html, text_content=html)

    assert created["variables"] == ["a", "b", "invoice_number"]
    assert len(created["html_content"]) == TEMPLATE_MAX


def test_render_amplification_limits_are_settings_the_openapi_document_states(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        embedded_worker=False,
        template_max_chars=2048,
        template_variable_max_chars=4096,
        template_max_variables=20,
    )
    schemas = create_app(settings).openapi()["components"]["schemas"]

    html = schemas["EmailTemplateCreate"]["properties"]["html_content"]
    assert html["maxLength"] == 2048
    update = schemas["EmailTemplateUpdate"]["properties"]["text_content"]["anyOf"][0]
    assert update["maxLength"] == 2048
    field = schemas["SendEmailCreate"]["properties"]["variables"]
    [variables] = [v for v in field.get("anyOf", [field]) if v.get("type") == "object"]
    assert variables["maxProperties"] == 20
    values = variables["additionalProperties"]["anyOf"]
    assert [v["maxLength"] for v in values if v["type"] == "string"] == [4096]
    with pytest.raises(ValidationFailed, match="html_content"):
        check_template("html_content", "x" * 2049, Limits.of(settings))
