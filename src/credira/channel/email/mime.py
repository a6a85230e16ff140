"""One outgoing email as a MIME message: multipart/alternative, text then HTML, UTF-8.

Both bodies are quoted-printable, so the message is 7-bit clean (any server takes it, long HTML
lines included) unless an address itself is non-ASCII (then it needs SMTPUTF8). Headers are the
usual few plus the caller's extras; nothing else is added.

**Every header line is written here, never by the standard library's folder.** Names and the
subject are data, and Python's email generator before 3.11.10 / 3.12.5 (CVE-2024-6923) decodes
an RFC 2047 encoded word such as ``=?utf-8?q?Jane=0D=0A=0D=0A...?=`` back into raw CR/LF when it
refolds a header: a contact name ended the header block. So the interpreter's patch level does
not matter, a header's wire form is made here, and the library only writes it out:

- a word of printable ASCII without ``=?`` is written as it is;
- anything else (non-ASCII, ``=?``, repeated or outer spaces) is written as RFC 2047 encoded
  words made here, so an attacker's ``=?...?=`` arrives as the literal text it was;
- a display name is a phrase of atoms, a quoted string, or wholly encoded words;
- lines are folded at the spaces between those tokens, at 78 columns where a token allows it.

Control characters and line separators (CR, LF, tab, NUL, U+0085, U+2028, U+2029 ...) are
refused in every header: nothing can write them safely; so is ``=?`` in an address or the
Message-ID, which cannot be encoded. A plain word of an extra header is never encoded for its
length: the standard library's folding encodes an over-long token (a signed ``List-Unsubscribe``
URL is one) as ``=?utf-8?q?...?=``, which no mail client reads as a URL; it keeps a line of its
own instead, and one too long for any line (998) is refused (a subject's is encoded).

As a second wall, the bytes are parsed back (``BytesParser``, ``policy.default``; the UTF-8 text
with ``Parser`` when the message is SMTPUTF8) and the message is refused (``ValueError``) unless
its headers are exactly those meant, each once, in order, with the values meant, and both bodies
read back as given.
"""

from __future__ import annotations

import base64
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.errors import MessageError
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser, Parser
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any, Literal

from credira.channel.email.port import OutgoingEmail

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
MESSAGE_ID_RE = re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>")
_ATOM_RE = re.compile(_ATEXT)
_FIELD_NAME_RE = re.compile(r"[!-9;-~]+")  # printable ASCII but ':' (RFC 5322 ftext)
_PLAIN_RE = re.compile(r"[!-~]+")  # a word of printable ASCII
_NOT_IN_ADDRESS = frozenset(' <>,;:"()[]\\')
# Unicode categories no header may hold: controls (CR, LF, tab, NUL, U+0085 ...), lone
# surrogates, and the line and paragraph separators (U+2028, U+2029).
_UNWRITABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})
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
MAX_LINE = 78
HARD_MAX_LINE = 998  # RFC 5322 2.1.1
ENCODED_WORD_MAX = 75  # RFC 2047 2
# Characters a "Q" encoded word may carry as themselves anywhere, display names included
# (RFC 2047 5 (3)); a space is "_", every other byte "=XX".
_Q_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_EW_FRAME = len("=?utf-8?q??=")


class _Wire(str):
    """A header value in its wire form (continuation lines joined by CRLF), written as it is."""


class _Policy(EmailPolicy):
    """SMTP line endings; a ``_Wire`` value is written verbatim, never refolded."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, _Wire):
            return (name, value)
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        if isinstance(value, _Wire):
            return f"{name}: {value}".replace("\r\n", self.linesep) + self.linesep
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, _Wire):
            return self.fold(name, value).encode("utf-8")
        return super().fold_binary(name, value)


POLICY = _Policy(linesep="\r\n")


@dataclass(frozen=True)
class Encoded:
    """A message as it goes on the wire, checked, and its envelope."""

    data: bytes  # CRLF lines
    sender: str  # the addr-spec of From
    recipient: str  # the addr-spec of To
    smtputf8: bool  # an address is non-ASCII: the server must offer SMTPUTF8


@dataclass(frozen=True)
class _Header:
    """One header as written, and what reading it back must give."""

    name: str
    wire: str  # the value's folded wire form, after "Name: "
    kind: Literal["text", "address"]
    value: str  # text: the decoded value; address: the display name
    addr: str = ""
    encoded_name: bool = False  # the display name was written as encoded words


def _check_text(field: str, value: str) -> str:
    if any(unicodedata.category(char) in _UNWRITABLE for char in value):
        raise ValueError(f"{field} may not contain line breaks or control characters")
    return value


def _q_length(char: str) -> int:
    return sum(1 if byte in _Q_LITERAL or byte == 0x20 else 3 for byte in char.encode("utf-8"))


def _q_word(text: str) -> str:
    encoded = "".join(
        chr(byte) if byte in _Q_LITERAL else "_" if byte == 0x20 else f"={byte:02X}"
        for byte in text.encode("utf-8")
    )
    return f"=?utf-8?q?{encoded}?="


def _b_word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode('utf-8')).decode('ascii')}?="


def _b_length(size: int) -> int:
    return 4 * -(-size // 3)


def _fitting(text: str, q: bool, room: int) -> int:
    """How many characters of ``text`` one encoded word of at most ``room`` characters holds."""
    used = 0
    for count, char in enumerate(text):
        used += _q_length(char) if q else len(char.encode("utf-8"))
        if _EW_FRAME + (used if q else _b_length(used)) > room:
            return count
    return len(text)


class _Folder:
    """A header's tokens joined by single spaces, folded before a token that would pass
    ``MAX_LINE``; unfolding (dropping the CRLFs) gives back the tokens and their spaces."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines = [f"{name}:"]
        self.started = False

    def room(self) -> int:
        return MAX_LINE - len(self.lines[-1]) - 1

    def add(self, token: str) -> None:
        if self.started and len(token) > self.room():
            self.lines.append("")
        self.lines[-1] += " " + token
        self.started = True

    def add_encoded(self, text: str) -> None:
        """``text`` as encoded words, each a whole number of characters, each filling what is
        left of its line. Decoders drop the white space between two encoded words (RFC 2047
        6.2), so the words read back as ``text`` exactly, spaces included."""
        data = text.encode("utf-8")
        q = sum(_q_length(char) for char in text) <= _b_length(len(data))
        rest = text
        while rest:
            count = _fitting(rest, q, min(ENCODED_WORD_MAX, self.room()))
            if count == 0:  # this line is too full: the word goes on the next one
                count = _fitting(rest, q, ENCODED_WORD_MAX)
            chunk, rest = rest[:count], rest[count:]
            self.add(_q_word(chunk) if q else _b_word(chunk))

    def wire(self) -> str:
        if any(len(line) > HARD_MAX_LINE for line in self.lines):
            raise ValueError(
                f"header {self.name} has a word longer than {HARD_MAX_LINE} characters"
            )
        return "\r\n".join(self.lines)[len(self.name) + 2 :]


def _plain(word: str) -> bool:
    return bool(_PLAIN_RE.fullmatch(word)) and "=?" not in word


def _text_header(name: str, field: str, value: str, *, encode_long: bool) -> _Header:
    """An unstructured header: plain words as they are, runs of other words encoded."""
    _check_text(field, value)
    folder = _Folder(name)
    words = value.split(" ")
    if value and "" in words:  # outer or repeated spaces: encoded words keep them exactly
        folder.add_encoded(value)
    elif value:
        longest = HARD_MAX_LINE - len(name) - 2  # a word must fit the first line too
        run: list[str] = []
        for word in words:
            if _plain(word) and (len(word) <= longest or not encode_long):
                if run:
                    folder.add_encoded(" ".join(run))
                    run = []
                folder.add(word)
            else:
                run.append(word)
        if run:
            folder.add_encoded(" ".join(run))
    return _Header(name, folder.wire(), "text", value)


def _addr_spec(field: str, addr: str) -> str:
    addr = _check_text(field, addr).strip()
    local, _, domain = addr.partition("@")
    if (
        not local
        or not domain
        or "@" in domain
        or "=?" in addr
        or any(char in _NOT_IN_ADDRESS or not char.isprintable() for char in addr)
    ):
        raise ValueError(f"{field} is not a valid email address: {addr!r}")
    return addr


def _address_header(name: str, field: str, addr: str, display: str) -> _Header:
    """``Name <addr>`` with the display name as atoms, a quoted string or encoded words."""
    addr = _addr_spec(field, addr)
    display = _check_text(field, display).strip()
    folder = _Folder(name)
    if not display:
        folder.add(addr)
        return _Header(name, folder.wire(), "address", "", addr)
    words = display.split(" ")
    encoded = not all(_plain(word) for word in words)
    if encoded:
        folder.add_encoded(display)
    elif all(_ATOM_RE.fullmatch(word) for word in words):
        for word in words:
            folder.add(word)
    else:
        folder.add('"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"')
    folder.add(f"<{addr}>")
    return _Header(name, folder.wire(), "address", display, addr, encoded_name=encoded)


def parse_mailbox(field: str, value: str) -> Address:
    """``"Name <addr>"``, ``"\\"Name, Inc.\\" <addr>"`` or ``"addr"`` as one Address."""
    value = _check_text(field, value).strip()
    name, addr = "", value
    if value.endswith(">") and "<" in value:
        cut = value.rindex("<")
        name, addr = value[:cut].strip(), value[cut + 1 : -1].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
    return mailbox(field, addr, name)


def mailbox(field: str, addr: str, name: str | None) -> Address:
    addr = _addr_spec(field, addr)
    try:
        return Address(display_name=_check_text(field, name or "").strip(), addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{field} is not a valid email address: {addr!r}") from exc


def _headers(message: OutgoingEmail, date: datetime) -> list[_Header]:
    sender = parse_mailbox("from_address", message.from_address)
    to_name = _check_text("to_name", message.to_name or "")
    if not MESSAGE_ID_RE.fullmatch(message.message_id) or "=?" in message.message_id:
        raise ValueError(f"message_id must look like <token@domain>: {message.message_id!r}")
    stamp = format_datetime(date.astimezone(UTC))
    headers = [
        _address_header("From", "from_address", sender.addr_spec, sender.display_name),
        _address_header("To", "to_address", message.to_address, to_name),
        _text_header("Subject", "subject", message.subject, encode_long=True),
        _Header("Date", stamp, "text", stamp),
        _Header("Message-ID", message.message_id, "text", message.message_id),
    ]
    seen: set[str] = set()
    for name, value in message.headers.items():
        if not _FIELD_NAME_RE.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        lower = name.lower()
        if lower in RESERVED_HEADERS or lower.startswith("content-") or lower in seen:
            raise ValueError(f"header {name} is set from the message, not as an extra header")
        seen.add(lower)
        headers.append(_text_header(name, f"header {name}", value, encode_long=False))
    return headers


def _build(message: OutgoingEmail, date: datetime) -> tuple[EmailMessage, Encoded]:
    headers = _headers(message, date)
    sender, recipient = headers[0].addr, headers[1].addr
    smtputf8 = not (sender.isascii() and recipient.isascii())
    # "=_" never occurs in a quoted-printable body (a literal "=" is written "=3D").
    boundary = f"=_{secrets.token_hex(16)}"
    root = EmailMessage(policy=POLICY)
    for header in headers:
        root[header.name] = _Wire(header.wire)
    root["MIME-Version"] = _Wire("1.0")
    root["Content-Type"] = _Wire(f'multipart/alternative;\r\n boundary="{boundary}"')
    for body, subtype in ((message.text, "plain"), (message.html, "html")):
        part = MIMEPart(policy=POLICY)
        part.set_content(body, subtype=subtype, charset="utf-8", cte="quoted-printable")
        # typeshed wants an EmailMessage here; a MIMEPart is right (no MIME-Version per part).
        root.attach(part)  # type: ignore[arg-type]
    try:
        data = root.as_bytes()
    except MessageError as exc:  # a patched generator's own check (HeaderWriteError)
        raise ValueError(f"the message cannot be written: {exc}") from exc
    _read_back(data, headers, boundary, message, smtputf8=smtputf8)
    return root, Encoded(data, sender, recipient, smtputf8)


def _body(text: str) -> str:
    """A body as a reader gets it back: lines as the content manager splits them, LF-ended."""
    return "\n".join(line.decode("utf-8") for line in text.encode("utf-8").splitlines()) + "\n"


def _shown_name(parsed: Any, raw: str, header: _Header) -> str:
    """The display name as a mail client shows it. Encoded words are decoded the RFC 2047 way
    (the white space between two of them is dropped), which Python's address parser did not
    do before gh-128110 was fixed: it would add a space wherever a long name was split."""
    if not header.encoded_name:
        return str(parsed.addresses[0].display_name)
    unfolded = re.sub(r"[\r\n]", "", raw)
    phrase = unfolded[: unfolded.rindex("<")].strip()
    return str(make_header(decode_header(phrase)))


def _read_back(
    data: bytes, headers: list[_Header], boundary: str, message: OutgoingEmail, *, smtputf8: bool
) -> None:
    """Refuse (``ValueError``) a message that does not read back exactly as it was meant."""
    lines = data.split(b"\r\n")
    if (not smtputf8 and not data.isascii()) or any(
        b"\r" in line or b"\n" in line or len(line) > HARD_MAX_LINE for line in lines
    ):
        raise ValueError("the message as written has a bad line")
    try:
        if smtputf8:
            parsed = Parser(policy=email_policy.default).parsestr(data.decode("utf-8"))
        else:
            parsed = BytesParser(policy=email_policy.default).parsebytes(data)
        names = [header.name for header in headers] + ["MIME-Version", "Content-Type"]
        if parsed.defects or parsed.keys() != names:
            raise ValueError(f"its headers read back as {parsed.keys()}")
        raw = dict(parsed.raw_items())
        for header in headers:
            seen = parsed[header.name]
            if header.kind == "text":
                if str(seen) != header.value:
                    raise ValueError(f"{header.name} reads back as {str(seen)!r}")
            elif (
                len(seen.addresses) != 1
                or seen.addresses[0].addr_spec != header.addr
                or _shown_name(seen, raw[header.name], header) != header.value
            ):
                raise ValueError(f"{header.name} reads back as {str(seen)!r}")
        if str(parsed["MIME-Version"]) != "1.0" or parsed.get_boundary() != boundary:
            raise ValueError("its MIME headers do not read back as written")
        parts = list(parsed.iter_parts())
        expected = [("text/plain", message.text), ("text/html", message.html)]
        if parsed.get_content_type() != "multipart/alternative" or len(parts) != len(expected):
            raise ValueError("its parts do not read back as written")
        for part, (content_type, body) in zip(parts, expected, strict=True):
            if (
                part.keys() != ["Content-Type", "Content-Transfer-Encoding"]
                or part.get_content_type() != content_type
                or part.get_content().replace("\r\n", "\n") != _body(body)
            ):
                raise ValueError(f"its {content_type} part does not read back as written")
    except ValueError as exc:
        raise ValueError(f"the message does not read back as built: {exc}") from exc
    except Exception as exc:  # the parser's own errors: this message is not what was meant
        raise ValueError(f"the message does not read back as built: {exc!r}") from exc


def encode_message(message: OutgoingEmail, *, date: datetime | None = None) -> Encoded:
    """The message's bytes for the wire, checked by reading them back, and its envelope.

    Raises ``ValueError`` for anything that cannot be sent as given: an invalid address or
    Message-ID, a control character or line separator in a header, an extra header that is
    malformed or would replace one set here, or bytes that do not read back as meant.
    """
    return _build(message, date or datetime.now(UTC))[1]


def build_mime(message: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    """The message as an ``EmailMessage``; its ``as_bytes()`` are those ``encode_message``
    checks (CRLF lines). Raises ``ValueError`` as ``encode_message`` does."""
    return _build(message, date or datetime.now(UTC))[0]
