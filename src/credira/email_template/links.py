"""Links in templates and the variables that fill them: only http(s) addresses are links.

An email's HTML is read by mail clients and browsers, where an ``href`` of ``javascript:`` (or
``vbscript:``, ``data:``...) runs or shows whatever its author wants. Two checks keep such a
link out, each refusing with a ``VALIDATION_ERROR`` that names the field:

- when a template is saved, a link whose address the template itself writes must be relative
  or of a harmless scheme (http, https, mailto, tel: ``credira.kit.links``);
- when an email is rendered, a variable that starts a link's address (``href="{{ link }}"``,
  and ``payment_link`` wherever it is used) must be an absolute http or https URL with a host.

The decoration of every email as it is sent (``credira.email.tracking.decorate_html``) drops the
``href`` of any other link that gets through, whatever its origin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from html.parser import HTMLParser

from credira.errors import ValidationFailed
from credira.kit import links

# Attributes whose address is followed when the reader clicks (a link, a form's target). Images
# and other embedded content (``src``) are not links: a ``data:`` image is legitimate there, and
# mail clients neither run scripts nor show frames.
ADDRESS_ATTRIBUTES = frozenset({"href", "action", "formaction", "xlink:href"})
# The variable named first in such an attribute (quoted or not, after ``{% if %}`` tags, with
# filters): its value decides the address's scheme.
_LINK_START = re.compile(
    rf"(?<![\w:-])(?:{'|'.join(sorted(ADDRESS_ATTRIBUTES))})\s*=\s*[\"']?\s*(?:\{{%[^%]*%\}}\s*)*"
    r"\{\{-?\s*(?P<name>[A-Za-z][A-Za-z0-9_]*)",
    re.IGNORECASE,
)
LINK_MUST_BE_HTTP = "A link must be an absolute http or https URL, with a host"


def _refused(field: str, details: str) -> ValidationFailed:
    error = ValidationFailed(f"Invalid value for {field}", details=details, field=field)
    return error


@lru_cache(maxsize=128)
def link_variables(html_source: str) -> frozenset[str]:
    """The variables a template's HTML writes at the start of an address, and
    ``payment_link``, which is a link wherever it is used."""
    return frozenset({"payment_link", *(m["name"] for m in _LINK_START.finditer(html_source))})


def check_link_variables(html_source: str, variables: Mapping[str, object]) -> None:
    """Refuse (``variables.<name>``) a variable that would start an address in the email
    unless it is an absolute http or https URL. An empty value makes no link and passes, and
    so does a number (it has no scheme)."""
    for name in sorted(link_variables(html_source)):
        value = variables.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            links.http_url(value)
        except ValueError as exc:
            raise _refused(f"variables.{name}", f"{LINK_MUST_BE_HTTP} ({exc})") from None


class _Addresses(HTMLParser):
    """The values of the link attributes of every tag, as written (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(v for k, v in attrs if k in ADDRESS_ATTRIBUTES and v is not None)

    handle_startendtag = handle_starttag


def check_template_links(field: str, html_source: str) -> None:
    """Refuse (naming ``field``) a template whose own text writes an address of a scheme that
    can run or hide content (``javascript:``, ``vbscript:``, ``data:``, ``file:``...)."""
    parser = _Addresses()
    parser.feed(html_source)
    parser.close()
    for address in parser.found:
        if not links.is_harmless(address):
            scheme = links.scheme(address)
            raise _refused(
                field,
                f"A link in the template has the scheme {scheme}:, which an email may not carry; "
                "links may be http, https, mailto or tel, or relative",
            )
