"""Signed tracking and unsubscribe links, and the decoration of an email's bodies (no I/O).

Every link carries an HMAC-SHA256 signature (truncated to 128 bits) over a purpose and its
payload, so a token made for one purpose never verifies for another, and nobody without the key
can make a token at all. A click token carries its target inside the signed payload: changing
the target, or pairing it with another email's signature, fails verification. That is what keeps
the click endpoint from being an open redirect.

Token shapes (all URL-safe, no ``/``):

- open and unsubscribe: ``<tracking_id>.<signature>``
- click: ``<base64url(tracking_id "\\n" target)>.<signature>``
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
from html.parser import HTMLParser
from typing import NamedTuple

from credira.kit import links
from credira.kit.ids import is_valid_id

OPEN_PATH = "/t/o/"
CLICK_PATH = "/t/c/"
UNSUBSCRIBE_PATH = "/u/"

_SIGNATURE_BYTES = 16
MAX_TARGET_LENGTH = 4096
# A click token is about 4/3 of its target; anything far longer was not made here.
_MAX_TOKEN_LENGTH = 6000
_B64 = re.compile(r"[A-Za-z0-9_-]*")


class UnsafeTarget(ValueError):
    """A click target that must not be signed: not an absolute http(s) URL."""


class Click(NamedTuple):
    tracking_id: str
    target: str


# -- signing -------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if not _B64.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _signature(key: bytes, purpose: str, payload: bytes) -> str:
    if not key:
        # An empty key would make every signature forgeable; never sign or verify with one.
        raise ValueError("the link-signing key is empty")
    message = purpose.encode("ascii") + b"\x00" + payload
    return _b64encode(hmac.new(key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def _signed(token: str, key: bytes, purpose: str, *, encoded: bool) -> bytes | None:
    """The payload of ``token`` when its signature is right for ``purpose``, else None.

    ``encoded``: the payload is base64url (click tokens) rather than a plain tracking id.
    """
    if not key or len(token) > _MAX_TOKEN_LENGTH:
        return None
    head, dot, signature = token.rpartition(".")
    if not dot:
        return None
    payload = _b64decode(head) if encoded else head.encode("ascii", "replace")
    if payload is None:
        return None
    expected = _signature(key, purpose, payload)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        return None
    return payload


def _tracking_id(value: str) -> str | None:
    return value if is_valid_id("track", value) else None


def check_target(target: str) -> str:
    """The target as browsers read it (surrounding blanks, tabs and newlines dropped), when it
    is an absolute http or https URL with a host; ``UnsafeTarget`` otherwise."""
    try:
        return links.http_url(target, max_length=MAX_TARGET_LENGTH)
    except ValueError as exc:
        raise UnsafeTarget(str(exc)) from None


def open_token(tracking_id: str, key: bytes) -> str:
    return f"{tracking_id}.{_signature(key, 'open', tracking_id.encode('ascii'))}"


def unsubscribe_token(tracking_id: str, key: bytes) -> str:
    return f"{tracking_id}.{_signature(key, 'unsubscribe', tracking_id.encode('ascii'))}"


def click_token(tracking_id: str, target: str, key: bytes) -> str:
    payload = tracking_id.encode("ascii") + b"\n" + check_target(target).encode("utf-8")
    return f"{_b64encode(payload)}.{_signature(key, 'click', payload)}"


def verify_open(token: str, key: bytes) -> str | None:
    """The tracking id of a genuine open-pixel token, else None."""
    payload = _signed(token, key, "open", encoded=False)
    return _tracking_id(payload.decode("ascii")) if payload is not None else None


def verify_unsubscribe(token: str, key: bytes) -> str | None:
    """The tracking id of a genuine unsubscribe token, else None."""
    payload = _signed(token, key, "unsubscribe", encoded=False)
    return _tracking_id(payload.decode("ascii")) if payload is not None else None


def verify_click(token: str, key: bytes) -> Click | None:
    """The tracking id and target of a genuine click token, else None."""
    payload = _signed(token, key, "click", encoded=True)
    if payload is None:
        return None
    raw_id, newline, raw_target = payload.partition(b"\n")
    try:
        tracking_id = _tracking_id(raw_id.decode("ascii")) if newline else None
        # Checked again: a key leaked or shared with an older release must still never
        # redirect anywhere but to http(s).
        target = check_target(raw_target.decode("utf-8"))
    except (UnicodeDecodeError, UnsafeTarget):
        return None
    if tracking_id is None or target != raw_target.decode("utf-8"):
        return None
    return Click(tracking_id, target)


# -- URLs ----------------------------------------------------------------------------------


def _base(public_url: str) -> str:
    return public_url.rstrip("/")


def open_pixel_url(public_url: str, tracking_id: str, key: bytes) -> str:
    return f"{_base(public_url)}{OPEN_PATH}{open_token(tracking_id, key)}.gif"


def click_url(public_url: str, tracking_id: str, target_url: str, key: bytes) -> str:
    """A tracked link to ``target_url``; ``UnsafeTarget`` unless it is an absolute http(s) URL."""
    return f"{_base(public_url)}{CLICK_PATH}{click_token(tracking_id, target_url, key)}"


def unsubscribe_url(public_url: str, tracking_id: str, key: bytes) -> str:
    return f"{_base(public_url)}{UNSUBSCRIBE_PATH}{unsubscribe_token(tracking_id, key)}"


def list_unsubscribe_headers(public_url: str, tracking_id: str, key: bytes) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers: a mail client's "unsubscribe" button POSTs the URL.

    RFC 8058 wants an https URL (and the headers covered by a DKIM signature): set
    ``CREDIRA_PUBLIC_URL`` to the https address the service is reachable at.
    """
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(public_url, tracking_id, key)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


# -- bodies --------------------------------------------------------------------------------

# One attribute of a start tag, as the HTML tokenizer reads it: a name, then an optional value
# (double-quoted, single-quoted or bare). Anything before it (blanks, stray "/") is skipped.
_ATTRIBUTE = re.compile(
    r"""[\s/]*(?P<name>[^\s/>][^\s/>=]*)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s>]*))?"""
)
_TAG_NAME = re.compile(r"<[^\s/>]+")
_LINK_TAGS = ("a", "area")


def _attribute_value(raw: str) -> str:
    if raw[:1] in ("'", '"'):
        raw = raw[1:-1]
    return html.unescape(raw)


def _href_span(start_tag: str) -> tuple[int, int, int, str] | None:
    """Where the first ``href`` attribute and its value start in a raw start tag, where they
    end, and the decoded value."""
    name = _TAG_NAME.match(start_tag)
    if name is None:
        return None
    position = name.end()
    while position < len(start_tag):
        match = _ATTRIBUTE.match(start_tag, position)
        if match is None or match.end() == position:
            return None
        if match.group("name").lower() == "href":
            if match.group("value") is None:
                return None
            value = _attribute_value(match["value"])
            return match.start("name"), match.start("value"), match.end("value"), value
        position = match.end()
    return None


class _Scanner(HTMLParser):
    """Finds the start tags of links and the last ``</body>`` (or ``</html>``), by offset.

    The parser is only used to find tags where a browser would (not in comments, scripts or
    attribute values); the document itself is edited by splicing, so every byte that is not a
    rewritten ``href`` stays as written.
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self._line_starts.append(index + 1)
        self.source = source
        self.links: list[tuple[int, str, str | None]] = []
        self.closing: dict[str, int] = {}

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINK_TAGS:
            raw = self.get_starttag_text() or ""
            href = next((value for name, value in attrs if name == "href"), None)
            self.links.append((self._offset(), raw, href))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("body", "html"):
            self.closing[tag] = self._offset()


def _trackable(href: str, own_prefixes: tuple[str, ...]) -> bool:
    stripped = href.strip()
    if stripped.startswith(own_prefixes):
        return False  # already one of our links (the unsubscribe link, say): leave it
    try:
        check_target(stripped)
    except UnsafeTarget:
        return False
    return True


def decorate_html(html_body: str, *, public_url: str, tracking_id: str, key: bytes) -> str:
    """The HTML body with every absolute http(s) link rewritten to a signed click link, then an
    unsubscribe line and a 1x1 open pixel before ``</body>`` (at the end when there is none).

    ``mailto:``, ``tel:`` and relative links (``#anchors``) and every other byte of the markup
    are kept as written. A link of any other scheme (``javascript:``, ``data:``...) loses its
    ``href`` and shows as plain text: nothing should have let one in (templates and link
    variables are checked when given), so this is the last line, not the rule.
    """
    base = _base(public_url)
    own = (base + CLICK_PATH, base + UNSUBSCRIBE_PATH, base + OPEN_PATH)
    scanner = _Scanner(html_body)
    scanner.feed(html_body)
    scanner.close()

    edits: list[tuple[int, int, str]] = []
    for offset, raw, parsed_href in scanner.links:
        if html_body[offset : offset + len(raw)] != raw:
            continue  # the parser and the offsets disagree: leave the link untouched
        if parsed_href is None:
            continue
        span = _href_span(raw)
        if not links.is_harmless(parsed_href):
            if span is not None and span[3] == parsed_href:
                edits.append((offset + span[0], offset + span[2], ""))
            else:  # not found where the parser saw it: the whole tag goes, bare
                tag = _TAG_NAME.match(raw)
                edits.append((offset, offset + len(raw), f"{tag[0] if tag else '<a'}>"))
            continue
        if span is None:
            continue
        _, start, end, href = span
        if href != parsed_href or not _trackable(href, own):
            continue
        tracked = click_url(base, tracking_id, href, key)
        edits.append((offset + start, offset + end, f'"{html.escape(tracked, quote=True)}"'))

    footer = (
        '<p style="margin:24px 0 0;font-size:12px;color:#6b7280">'
        "If you no longer wish to receive these emails, "
        f'<a href="{html.escape(unsubscribe_url(base, tracking_id, key))}">unsubscribe</a>.</p>'
        f'<img src="{html.escape(open_pixel_url(base, tracking_id, key))}" width="1" height="1"'
        ' alt="" style="border:0;width:1px;height:1px" />'
    )
    at = scanner.closing.get("body", scanner.closing.get("html", len(html_body)))
    edits.append((at, at, footer))

    pieces: list[str] = []
    cursor = 0
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0]):
        pieces.append(html_body[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(html_body[cursor:])
    return "".join(pieces)


def decorate_text(text: str, *, unsubscribe: str) -> str:
    """The plain-text body with an unsubscribe line at the end."""
    return f"{text.rstrip()}\n\nTo stop receiving these emails, unsubscribe: {unsubscribe}\n"
