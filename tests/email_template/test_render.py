"""Rendering templates: escaping, strict variables, and the sandbox policy (no SSTI)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from credira.email_template.defaults import DEFAULT_TEMPLATES, DefaultTemplate
from credira.email_template.render import (
    DEFAULT_LIMITS,
    check_template,
    render,
    template_variables,
)
from credira.email_template.variables import NAMES
from credira.errors import ValidationFailed
from tests.email_template.helpers import (
    DOC_HTML,
    DOC_SUBJECT,
    DOC_TEXT,
    DOC_VARIABLES,
    LEAKS,
    SSTI_PAYLOADS,
)


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
@pytest.mark.parametrize("field", ["subject", "html_content", "text_content"])
def test_ssti_payload_is_refused_naming_its_field(field: str, payload: str) -> None:
    parts = {"subject": "Hello", "html_content": "<p>Hi</p>", "text_content": "Hi"}
    parts[field] = payload
    with pytest.raises(ValidationFailed) as saved:
        template_variables(parts["subject"], parts["html_content"], parts["text_content"])
    with pytest.raises(ValidationFailed) as rendered:
        render(
            parts["subject"],
            parts["html_content"],
            parts["text_content"],
            {"customer_name": "<b>x</b>", "_private": "secret"},
        )
    for error in (saved.value, rendered.value):
        assert error.code == "VALIDATION_ERROR"
        assert error.message.startswith("Template is not allowed: ")
        assert getattr(error, "field", None) == field
        said = f"{error.message} {error.details}"
        assert not any(leak in said for leak in LEAKS), said


@pytest.mark.parametrize(
    ("subject", "html", "text", "expected"),
    [
        (
            DOC_SUBJECT,
            DOC_HTML,
            DOC_TEXT,
            ["customer_name", "invoice_number", "amount", "due_date"],
        ),
        ("Plain", "<p>no placeholders</p>", "none", []),
        ("{{ b }}", "{{ a }}{{ a|upper }}", "{{ c|default(d) }}", ["a", "c", "d", "b"]),
        ("s", "{% if link is defined %}{{ link }}{% else %}{{ x }}{% endif %}", "", ["link", "x"]),
        ("s", "{# {{ not_a_variable }} #}{% raw %}{{ literal }}{% endraw %}", "t", []),
    ],
)
def test_variables_are_derived_from_the_text_in_order_of_appearance(
    subject: str, html: str, text: str, expected: list[str]
) -> None:
    assert template_variables(subject, html, text) == expected


def test_documented_template_renders_its_documented_email() -> None:
    result = render(DOC_SUBJECT, DOC_HTML, DOC_TEXT, DOC_VARIABLES)

    assert result.subject == "Payment Reminder - Invoice #INV-001"
    assert "<p>Dear John Doe,</p>" in result.html
    assert "invoice #INV-001 for $1250.00 is due on 2024-01-30." in result.text


def test_html_part_is_escaped_and_subject_and_text_are_not() -> None:
    name = '<script>alert("x")</script> & Co'
    result = render("To {{ name }}", "<p>Dear {{ name }}</p>", "Dear {{ name }}", {"name": name})

    assert result.html == ("<p>Dear &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co</p>")
    assert "<script>" not in result.html
    assert result.text == f"Dear {name}"
    assert result.subject == f"To {name}"


@pytest.mark.parametrize("injected", ["X\r\nBcc: evil@example.com", "X\nBcc: a@b", "X\rY\x00Z"])
def test_rendered_subject_cannot_carry_line_breaks(injected: str) -> None:
    result = render("Invoice {{ n }}", "h", "t", {"n": injected})

    assert not any(c in result.subject for c in "\r\n\x00")
    assert result.subject.startswith("Invoice X")


def test_a_literal_newline_in_the_subject_template_is_folded_too() -> None:
    assert render("A\n{{ n }}", "h", "t", {"n": "B"}).subject == "A B"


@pytest.mark.parametrize(
    ("subject", "html", "text", "missing"),
    [
        ("{{ invoice_number }}", "<p>x</p>", "x", "invoice_number"),
        ("s", "<p>{{ customer_name }}</p>", "x", "customer_name"),
        ("s", "<p>x</p>", "{{ amount|upper }}", "amount"),
        ("s", "{% if payment_link %}pay{% endif %}", "x", "payment_link"),
        ("s", "{{ a|default(due_date) }}", "x", "due_date"),
    ],
)
def test_missing_variable_is_a_validation_error_naming_it(
    subject: str, html: str, text: str, missing: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        render(subject, html, text, {"unrelated": "1"})

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.message == f"Missing template variable: {missing}"
    assert getattr(caught.value, "field", None) == f"variables.{missing}"


@pytest.mark.parametrize(
    ("html", "variables", "expected"),
    [
        (
            "{{ n|upper }} {{ n|lower }} {{ n|title }}",
            {"n": "jOHN doe"},
            "JOHN DOE john doe John Doe",
        ),
        ("{{ n|capitalize }}|{{ p|trim }}|", {"n": "john", "p": "  x  "}, "John|x|"),
        ("Hi {{ n|default('there') }}", {}, "Hi there"),
        ("Hi {{ n|d('there') }}", {"n": None}, "Hi there"),
        ("{% if link is defined %}<a href='{{ link }}'>{% else %}none{% endif %}", {}, "none"),
        ("{% if link|default('') %}pay{% else %}none{% endif %}", {"link": ""}, "none"),
        ("{% if a and not b %}A{% elif b or a %}B{% endif %}", {"a": "1", "b": "1"}, "B"),
        ("{{ n }} days", {"n": 12}, "12 days"),
        ("{{ n }}", {"n": True}, "true"),
        ("{% raw %}{{ n }}{% endraw %}", {}, "{{ n }}"),
    ],
)
def test_allowed_constructs_render(html: str, variables: dict[str, object], expected: str) -> None:
    assert render("s", html, "t", variables).html == expected


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ name ", "syntax error on line 1"),
        ("{% if a %}x", "syntax error on line 1"),
        ("line\n{% endfor %}", "syntax error on line 2"),
        ("{{ a|nosuchfilter }}", "the filter 'nosuchfilter' is not allowed"),
        ("{{ a|default(x=1) }}", "wrong arguments to the filter 'default'"),
        ("{{ a|upper(1) }}", "wrong arguments to the filter 'upper'"),
        ("{{ a is sameas b }}", "the test 'is sameas' is not allowed"),
    ],
)
def test_broken_template_is_refused_naming_the_field(source: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_template("text_content", source)

    assert caught.value.message.startswith(f"Template is not allowed: {reason}")
    assert getattr(caught.value, "field", None) == "text_content"


@pytest.mark.parametrize(
    "source", ["{% if a %}" * 3000 + "x" + "{% endif %}" * 3000, "{{ " + "not " * 3000 + "a }}"]
)
def test_deeply_nested_template_is_refused_quickly(source: str) -> None:
    # More tags than a part may hold by default (test_render_amplification): allowed here, so
    # that the nesting is what is refused.
    limits = replace(DEFAULT_LIMITS, template_tags=10_000)
    started = time.monotonic()
    with pytest.raises(ValidationFailed, match="nested more than"):
        check_template("html_content", source, limits)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("value", [{"a": 1}, ["x"], object()])
def test_variable_that_is_not_a_string_or_number_is_refused(value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        render("s", "{{ v }}", "t", {"v": value})

    assert caught.value.message == "Invalid value for variables.v"
    assert getattr(caught.value, "field", None) == "variables.v"


def test_rendered_subject_longer_than_a_mail_line_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        render("{{ n }}", "h", "t", {"n": "x" * 999})
    assert getattr(caught.value, "field", None) == "subject"


@pytest.mark.parametrize("default", DEFAULT_TEMPLATES, ids=lambda t: t.category)
@pytest.mark.parametrize("link", [None, "https://pay.example.com/i/1?a=1&b=2"])
def test_default_templates_render_with_the_invoice_variables(
    default: DefaultTemplate, link: str | None
) -> None:
    variables = {
        "customer_name": "Jane <Roe>",
        "invoice_number": "INV-7",
        "amount": "$1,250.00",
        "currency": "USD",
        "due_date": "2024-01-30",
        "days_overdue": "5",
    }
    if link:
        variables["payment_link"] = link
    used = template_variables(default.subject, default.html_content, default.text_content)
    assert set(used) <= set(NAMES)

    result = render(default.subject, default.html_content, default.text_content, variables)

    assert "INV-7" in result.subject
    assert "Jane &lt;Roe&gt;" in result.html
    assert "Jane <Roe>" in result.text
    assert "$1,250.00" in result.html
    assert "2024-01-30" in result.text
    if link:
        assert 'href="https://pay.example.com/i/1?a=1&amp;b=2"' in result.html
        assert link in result.text
    else:
        assert "href" not in result.html
        assert "Pay online" not in result.text
