"""Link addresses as a browser reads them, and which of them may go into an email (no I/O).

A browser drops tabs and newlines anywhere in a URL and blanks and control characters around
it (WHATWG URL parsing) and matches the scheme whatever its case, so ``" Java\\tScript:x"`` runs
script. Every check here looks at the address in that form.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Browsers drop these from URLs (WHATWG URL parsing); other control characters are refused.
_STRIPPED = str.maketrans("", "", "\t\n\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a browser trims from both ends of a URL: C0 controls and the space.
_EDGES = "".join(chr(c) for c in range(0x21))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")

# Schemes that open a page, a mail or a call and never run anything; a link of any other
# scheme (javascript:, vbscript:, data:, file:...) is never written into an email we send.
HARMLESS_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def as_browsed(address: str) -> str:
    """``address`` as a browser reads it: blanks and controls trimmed, tabs and newlines gone."""
    return address.strip(_EDGES).translate(_STRIPPED)


def scheme(address: str) -> str | None:
    """The lowercased scheme a browser would see in ``address``; None for a relative one."""
    found = _SCHEME.match(as_browsed(address))
    return found[1].lower() if found else None


def is_harmless(address: str) -> bool:
    """Whether ``address`` may stay a link: relative (``#top``, ``/path``) or of a scheme in
    ``HARMLESS_SCHEMES``."""
    found = scheme(address)
    return found is None or found in HARMLESS_SCHEMES


def http_url(address: str, *, max_length: int | None = None) -> str:
    """``address`` without surrounding blanks, tabs and newlines, when it is an absolute http or
    https URL with a host; ``ValueError`` saying what is wrong otherwise."""
    cleaned = address.strip().translate(_STRIPPED)
    if _CONTROL.search(cleaned):
        raise ValueError("a link must not contain control characters")
    if max_length is not None and len(cleaned) > max_length:
        raise ValueError(f"a link must be at most {max_length} characters")
    try:
        parts = urlsplit(cleaned)
    except ValueError as exc:
        raise ValueError(f"a link must be a URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("a link must be an absolute http or https URL, with a host")
    return cleaned
