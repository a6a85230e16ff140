"""One outgoing email as a MIME message: multipart/alternative, text then HTML, UTF-8.

Both bodies are quoted-printable, so the message is 7-bit clean (any server takes it, long HTML
lines included) unless an address itself is non-ASCII (then it needs SMTPUTF8). Headers are the
usual few plus the caller's extras; nothing else is added. Every header value must be a single
line: a CR or LF in a subject or a name would otherwise let data inject headers.

Extra headers and the Message-ID are written as given, folded only at spaces, never turned
into RFC 2047 encoded-words: the standard library's folding encodes an over-long token (a
signed ``List-Unsubscribe`` URL is one) as ``=?utf-8?q?...?=``, which no mail client reads as
a URL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any

from credira.channel.email.port import OutgoingEmail

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
MESSAGE_ID_RE = re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>")
_FIELD_NAME_RE = re.compile(r"[!-9;-~]+")  # printable ASCII but ':' (RFC 5322 ftext)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Set here from the message's own fields; an extra header may not replace or repeat them.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "sender",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "return-path",
    }
)
# Headers that need the standard library's structured handling (addresses, encoded words).
_STRUCTURED = frozenset({"from", "to", "cc", "bcc", "sender", "reply-to", "subject"})
MAX_LINE = 78
HARD_MAX_LINE = 998  # RFC 5322 2.1.1


class _Policy(EmailPolicy):
    """SMTP line endings; ASCII values of unstructured headers kept verbatim (see module doc)."""

    def _verbatim(self, name: str) -> bool:
        lower = name.lower()
        return not (lower in _STRUCTURED or lower.startswith("content-") or lower == "mime-version")

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, str) and value.isascii() and self._verbatim(name):
            if len(value.splitlines()) > 1:
                raise ValueError(f"header {name} may not contain a line break")
            return (name, value)
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: str) -> str:
        if isinstance(value, str) and value.isascii() and self._verbatim(name):
            return _fold_at_spaces(name, value, self.linesep)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if isinstance(value, str) and value.isascii() and self._verbatim(name):
            return _fold_at_spaces(name, value, self.linesep).encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy(linesep="\r\n")
POLICY_UTF8 = POLICY.clone(utf8=True)


def _fold_at_spaces(name: str, value: str, linesep: str) -> str:
    """``Name: value`` folded before spaces to lines of at most 78 characters where a word
    allows it; unfolding (dropping the line breaks) gives back the value exactly."""
    lines: list[str] = []
    current = f"{name}:"
    for index, word in enumerate(value.split(" ")):
        if index and len(current) + 1 + len(word) > MAX_LINE and current.strip():
            lines.append(current)
            current = ""
        current = f"{current} {word}"
    lines.append(current)
    if any(len(line) > HARD_MAX_LINE for line in lines):
        raise ValueError(f"header {name} has a word longer than {HARD_MAX_LINE} characters")
    return linesep.join(lines) + linesep


def _single_line(field: str, value: str) -> str:
    if _CONTROL_RE.search(value) or (value and value.splitlines() != [value]):
        raise ValueError(f"{field} may not contain line breaks or control characters")
    return value


def parse_mailbox(field: str, value: str) -> Address:
    """``"Name <addr>"``, ``"\\"Name, Inc.\\" <addr>"`` or ``"addr"`` as one Address."""
    value = _single_line(field, value).strip()
    name, addr = "", value
    if value.endswith(">") and "<" in value:
        cut = value.rindex("<")
        name, addr = value[:cut].strip(), value[cut + 1 : -1].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
    return mailbox(field, addr, name)


def mailbox(field: str, addr: str, name: str | None) -> Address:
    addr = _single_line(field, addr).strip()
    if addr.count("@") != 1 or any(c in addr for c in ' <>,;"()[]\\'):
        raise ValueError(f"{field} is not a valid email address: {addr!r}")
    try:
        return Address(display_name=_single_line(field, name or "").strip(), addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{field} is not a valid email address: {addr!r}") from exc


def build_mime(message: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    """The message as it goes on the wire (``as_bytes()`` gives CRLF lines).

    Raises ``ValueError`` for anything that cannot be sent as given: an invalid address or
    Message-ID, a line break in a header, an extra header that is malformed or would replace
    one set here.
    """
    sender = parse_mailbox("from_address", message.from_address)
    recipient = mailbox(
        "to_address", message.to_address, _single_line("to_name", message.to_name or "")
    )
    if not MESSAGE_ID_RE.fullmatch(message.message_id):
        raise ValueError(f"message_id must look like <token@domain>: {message.message_id!r}")
    extras: dict[str, str] = {}
    for name, value in message.headers.items():
        if not _FIELD_NAME_RE.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        lower = name.lower()
        if lower in RESERVED_HEADERS or lower.startswith("content-") or lower in extras:
            raise ValueError(f"header {name} is set from the message, not as an extra header")
        extras[lower] = _single_line(f"header {name}", value)
        if value.isascii():
            _fold_at_spaces(name, value, "\r\n")  # refuses a word too long for any line

    utf8 = not (sender.addr_spec.isascii() and recipient.addr_spec.isascii())
    policy = POLICY_UTF8 if utf8 else POLICY
    root = EmailMessage(policy=policy)
    root["From"] = sender
    root["To"] = recipient
    root["Subject"] = _single_line("subject", message.subject)
    root["Date"] = format_datetime((date or datetime.now(UTC)).astimezone(UTC))
    root["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        root[name] = value
    root["MIME-Version"] = "1.0"
    root["Content-Type"] = "multipart/alternative"
    for body, subtype in ((message.text, "plain"), (message.html, "html")):
        part = MIMEPart(policy=policy)
        part.set_content(body, subtype=subtype, charset="utf-8", cte="quoted-printable")
        # typeshed wants an EmailMessage here; a MIMEPart is right (no MIME-Version per part).
        root.attach(part)  # type: ignore[arg-type]
    return root
