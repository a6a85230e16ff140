"""Header injection through RFC 2047 encoded words (issue 16, finding 1), at the adapter: a
message whose names and subject carry data is sent through the SMTP adapter to a real SMTP
server, and what the server received is parsed and compared with what was meant, header by
header.

Python's email generator before 3.11.10 / 3.12.5 (CVE-2024-6923) decodes an encoded word back
into raw CR/LF when it refolds a header, so ``=?utf-8?q?Jane=0D=0A=0D=0A...?=`` in a name ended
the header block. Whatever the interpreter's patch level, an attacker's ``=?...?=`` must arrive
as the literal text it was, and what cannot be written safely is refused before connecting.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from email import message_from_bytes, message_from_string, policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credira.channel.email import OutgoingEmail, SmtpSender
from credira.channel.email.mime import encode_message
from credira.config import Settings
from tests.channel.smtpd import SmtpServer

UNSUBSCRIBE = (
    "<https://credira.example.com/v1/email/unsubscribe/"
    "tk_8f3a9c2e1b7d4f6a0e5c3b9d8a7f6e5d.c2lnbmF0dXJlLW9mLXRoZS10cmFja2luZy1saW5r>"
)
HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
]
TEXT = "Dear Jane,\n\nInvoice INV-7 is overdue.\n"
HTML = "<p>Dear Jane,</p><p>Invoice <b>INV-7</b> is overdue.</p>"


def b_word(text: str, charset: str = "utf-8", letter: str = "b") -> str:
    return f"=?{charset}?{letter}?{base64.b64encode(text.encode()).decode()}?="


# An attacker's encoded words: q and b, lower and upper case, CR/LF, a bare LF, and the
# Unicode line separators (U+2028, U+0085) that a Unicode-aware reader splits lines at.
ATTACKS = {
    "q": "=?utf-8?q?Jane=0D=0A=0D=0ASpoofed_body?=",
    "Q upper": "=?UTF-8?Q?Jane=0D=0ABcc:_victim@evil.example?=",
    "b": b_word("Jane\r\n\r\nSpoofed body"),
    "B upper": b_word("Jane\r\nReply-To: attacker@evil.example", "UTF-8", "B"),
    "bare LF": "=?utf-8?q?Jane=0AReply-To:_attacker@evil.example?=",
    "U+2028": "=?utf-8?q?Jane=E2=80=A8Reply-To:_attacker@evil.example?=",
    "U+0085": "=?utf-8?b?"
    + base64.b64encode("Jane\x85Reply-To: a@evil.example".encode()).decode()
    + "?=",
    "latin-1": "=?iso-8859-1?q?Jane=0D=0AReply-To:_attacker@evil.example?=",
    "two words": "=?utf-8?q?Jane=0D?= =?utf-8?q?=0AReply-To:_attacker@evil.example?=",
}


def email(**changes: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "message_id": "<em_7.attempt-1@credira.example.com>",
        "from_address": "Credira Billing <billing@credira.example.com>",
        "to_address": "jane@debtor.example.com",
        "to_name": "Jane Roe",
        "subject": "Payment reminder: invoice INV-7",
        "text": TEXT,
        "html": HTML,
        "headers": {
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    fields.update(changes)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(smtputf8=True) as running:
        yield running


async def delivered(server: SmtpServer, message: OutgoingEmail) -> tuple[bytes, EmailMessage]:
    """Send ``message`` over SMTP; the bytes the server received, and those bytes parsed as a
    mail client would (UTF-8 headers when the message needed SMTPUTF8)."""
    result = await SmtpSender(server.url).send(message)
    assert result.status == "delivered", result
    [received] = server.received
    data = received.data
    if data.isascii():
        parsed = message_from_bytes(data, policy=policy.default)
    else:
        parsed = message_from_string(data.decode("utf-8"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return data, parsed


def shown_name(parsed: EmailMessage, header: str) -> str:
    """The display name of the header's one address as a mail client shows it.

    A name too long for one encoded word is several, and RFC 2047 (6.2) says the white space
    between two encoded words is not part of the text; Python's address parser kept it until
    gh-128110 was fixed (3.11 keeps it), so a name in encoded words is decoded the RFC's way."""
    [address] = parsed[header].addresses
    raw = re.sub(r"\r?\n", "", dict(parsed.raw_items())[header])
    phrase = raw[: raw.rindex("<")] if raw.endswith(">") else ""
    if "=?" in phrase:
        return str(make_header(decode_header(phrase.strip())))
    return str(address.display_name)


def assert_exactly_as_meant(data: bytes, parsed: EmailMessage, message: OutgoingEmail) -> None:
    """Every header the message should have, each once, with the value meant; nothing else;
    both bodies intact."""
    assert parsed.keys() == HEADERS, data.decode("utf-8", "replace")
    assert not parsed.defects
    [sender] = parsed["From"].addresses
    assert sender.addr_spec == "billing@credira.example.com"
    assert shown_name(parsed, "From") == "Credira Billing"
    [recipient] = parsed["To"].addresses
    assert recipient.addr_spec == message.to_address
    assert shown_name(parsed, "To") == message.to_name
    assert str(parsed["Subject"]) == message.subject
    assert str(parsed["Message-ID"]) == message.message_id
    assert str(parsed["List-Unsubscribe"]) == UNSUBSCRIBE
    assert str(parsed["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert str(parsed["MIME-Version"]) == "1.0"
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert text.keys() == html.keys() == ["Content-Type", "Content-Transfer-Encoding"]
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML + "\n"
    # Every line ends in CRLF and stays within SMTP's limit.
    bare = data.replace(b"\r\n", b"")
    assert b"\n" not in bare
    assert b"\r" not in bare
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_encoded_word_in_contact_name_cannot_inject_headers(
    server: SmtpServer, attack: str
) -> None:
    message = email(to_name=attack)

    data, parsed = await delivered(server, message)

    assert_exactly_as_meant(data, parsed, message)
    assert shown_name(parsed, "To") == attack  # the literal text, not decoded
    assert "Reply-To" not in parsed
    assert "Bcc" not in parsed


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_encoded_word_in_subject_cannot_inject_headers(
    server: SmtpServer, attack: str
) -> None:
    message = email(subject=f"Payment reminder: invoice {attack}")

    data, parsed = await delivered(server, message)

    assert_exactly_as_meant(data, parsed, message)
    assert "Reply-To" not in parsed
    assert "Bcc" not in parsed


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_encoded_word_with_smtputf8_cannot_inject_headers(
    server: SmtpServer, attack: str
) -> None:
    """A non-ASCII address makes the message SMTPUTF8, where headers may carry raw UTF-8."""
    message = email(
        to_address="jörg@debtor.example.com",
        to_name=f"Jörg {attack}",
        subject=f"Relance : facture échue {attack}",
    )

    data, parsed = await delivered(server, message)

    assert_exactly_as_meant(data, parsed, message)


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_encoded_word_straddling_a_fold_cannot_inject_headers(
    server: SmtpServer, attack: str
) -> None:
    """A long subject is folded; the attacker's word starts on one line and would end on
    the next."""
    subject = "Payment reminder: invoice INV-7 " + "is overdue " * 4 + "ab" + " " + attack
    subject += " and more words after it" * 4
    message = email(subject=subject, to_name=f"{'Roe ' * 12}{attack} {'Jane ' * 8}".strip())

    data, parsed = await delivered(server, message)

    assert_exactly_as_meant(data, parsed, message)
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\nList-Unsubscribe:", 1)[0]
    assert head.count(b"\r\n ") >= 4  # both were folded
    assert max(len(line) for line in head.split(b"\r\n")) <= 78  # (the URL is one long word)


@pytest.mark.parametrize(
    "value",
    [
        "Jörg Müller " * 15,  # non-ASCII over several encoded words
        "長い名前" * 40,
        'Société Générale, "Recouvrement" (Paris) <no> \\ =? ?= _ = ? ; : @',
        "a  b   c",
        "Jane\u200bRoe\u202e",
    ],
    ids=["accented words", "CJK", "specials", "spaces", "format characters"],
)
async def test_header_injection_fix_keeps_any_printable_name_and_subject(
    server: SmtpServer, value: str
) -> None:
    message = email(to_name=value.strip(), subject=value)

    data, parsed = await delivered(server, message)

    assert_exactly_as_meant(data, parsed, message)
    assert data.isascii()


# Text a header can carry (no controls, no line separators), rich in what header syntax reads
# specially: encoded-word delimiters, quotes, specials, spaces, non-ASCII.
_PIECES = st.sampled_from(
    [
        *("=?", "?=", "=?utf-8?q?", "=?UTF-8?B?", "=0D=0A", "_", '"', "\\", "<", ">", " ", "  "),
        *(",", "(", ")", ":", ";", "@", "é", "長", "\u200b", "😀", "Reply-To: a@evil.example"),
    ]
)
_TEXT = st.lists(
    st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))), _PIECES),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_TEXT, subject=_TEXT, extra=_TEXT, smtputf8=st.booleans())
def test_header_injection_fix_reads_back_any_writable_text(
    name: str, subject: str, extra: str, smtputf8: bool
) -> None:
    message = email(
        to_address="jörg@debtor.example.com" if smtputf8 else "jane@debtor.example.com",
        to_name=name,
        subject=subject,
        headers={"List-Unsubscribe": UNSUBSCRIBE, "X-Campaign": extra},
    )

    data = encode_message(message).data

    text = data.decode("utf-8")
    parsed = message_from_string(text, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.keys() == [*HEADERS[:6], "X-Campaign", *HEADERS[7:]]
    assert shown_name(parsed, "To") == name.strip()
    assert str(parsed["Subject"]) == subject
    assert str(parsed["X-Campaign"]) == extra
    assert data.isascii() or smtputf8


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"to_name": "Jane\u2028Reply-To: attacker@evil.example"}, "to_name"),
        ({"to_name": "Jane\x85Reply-To: attacker@evil.example"}, "to_name"),
        ({"to_name": "Jane\u2029Roe"}, "to_name"),
        ({"to_name": "Jane\x0bRoe"}, "to_name"),
        ({"to_name": "Jane\x0cRoe"}, "to_name"),
        ({"to_name": "Jane\x1cRoe"}, "to_name"),
        ({"to_name": "Jane\rRoe"}, "to_name"),
        ({"to_name": "Jane\x00Roe"}, "to_name"),
        ({"subject": "Invoice\u2028Reply-To: attacker@evil.example"}, "subject"),
        ({"subject": "Invoice\x85Reply-To: attacker@evil.example"}, "subject"),
        ({"subject": "Invoice\tINV-7"}, "subject"),
        ({"from_address": "Credira\x85 <billing@credira.example.com>"}, "from_address"),
        ({"to_address": "=?utf-8?q?x=0D=0A?=@debtor.example.com"}, "to_address"),
        ({"to_address": "jane\u2028@debtor.example.com"}, "to_address"),
        ({"headers": {"X-Tag": "a\u2028Bcc: victim@evil.example"}}, "X-Tag"),
        ({"message_id": "<=?utf-8?q?x=0D=0A?=@credira.example.com>"}, "message_id"),
    ],
)
async def test_header_injection_line_separators_are_refused_before_connecting(
    server: SmtpServer, changes: dict[str, object], complaint: str
) -> None:
    result = await SmtpSender(server.url).send(email(**changes))

    assert result.status == "permanent_failure"
    assert result.reply is not None
    assert complaint in result.reply
    assert server.received == []


@pytest.mark.parametrize(
    "value",
    [
        "Credira\u2028Reply-To: attacker@evil.example <billing@credira.example.com>",
        "Credira\x85 <billing@credira.example.com>",
        "Credira\r\nBcc: victim@evil.example <billing@credira.example.com>",
        "Credira <billing@credira.example.com>\r\nBcc: victim@evil.example",
        "Credira <not an address>",
    ],
)
def test_header_injection_from_setting_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValueError, match="CREDIRA_EMAIL_FROM"):
        Settings(email_from=value)


def test_header_injection_from_setting_accepts_a_name_with_an_encoded_word() -> None:
    value = '"Credira =?utf-8?q?x?=" <billing@credira.example.com>'
    assert Settings(email_from=value).email_from == value
