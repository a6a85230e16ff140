"""The MIME message both adapters send: its headers, its parts, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from credira.channel.email import OutgoingEmail, build_mime

AT = datetime(2024, 1, 25, 14, 0, tzinfo=UTC)
LONG_UNSUBSCRIBE = (
    "<https://pay.example.com/v1/email/unsubscribe/" + "a1b2c3d4" * 20 + ">, "
    "<mailto:unsubscribe@example.com?subject=stop>"
)


def email(**changes: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "message_id": "<em_1.a1@credira.example.com>",
        "from_address": "billing@credira.example.com",
        "to_address": "ana@example.com",
        "to_name": None,
        "subject": "Invoice INV-1 is overdue",
        "text": "Hello Ana",
        "html": "<p>Hello Ana</p>",
        "headers": {},
    }
    fields.update(changes)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def wire(message: OutgoingEmail) -> tuple[bytes, EmailMessage]:
    data = build_mime(message, date=AT).as_bytes()
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return data, parsed


def test_mime_has_the_usual_headers_and_nothing_else() -> None:
    data, parsed = wire(email(headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}))

    assert parsed.keys() == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Unsubscribe-Post",
        "MIME-Version",
        "Content-Type",
    ]
    assert parsed["Date"] == "Thu, 25 Jan 2024 14:00:00 +0000"
    assert parsed["To"] == "ana@example.com"
    assert [part.keys() for part in parsed.iter_parts()] == [
        ["Content-Type", "Content-Transfer-Encoding"]
    ] * 2
    assert [part["Content-Type"] for part in parsed.iter_parts()] == [
        'text/plain; charset="utf-8"',
        'text/html; charset="utf-8"',
    ]
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    ("from_address", "name", "addr"),
    [
        ("billing@example.com", "", "billing@example.com"),
        ("Acme Billing <billing@example.com>", "Acme Billing", "billing@example.com"),
        ('"Acme, Inc." <billing@example.com>', "Acme, Inc.", "billing@example.com"),
        ("Société Générale <facturation@example.fr>", "Société Générale", "facturation@example.fr"),
    ],
)
def test_mime_from_address_forms(from_address: str, name: str, addr: str) -> None:
    _, parsed = wire(email(from_address=from_address))

    [address] = parsed["From"].addresses
    assert (address.display_name, address.addr_spec) == (name, addr)


def test_mime_long_unsubscribe_header_is_folded_not_encoded() -> None:
    data, parsed = wire(email(headers={"List-Unsubscribe": LONG_UNSUBSCRIBE}))

    assert parsed["List-Unsubscribe"] == LONG_UNSUBSCRIBE
    header = data.split(b"List-Unsubscribe: ", 1)[1].split(b"\r\nMIME-Version", 1)[0]
    assert b"=?" not in header
    assert header.replace(b"\r\n", b"").decode() == LONG_UNSUBSCRIBE


def test_mime_long_html_lines_stay_within_smtp_limits() -> None:
    data, parsed = wire(email(html="<p>" + "x" * 5000 + "</p>"))

    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    html = parsed.get_body(("html",))
    assert html is not None
    assert html.get_content().rstrip("\r\n") == "<p>" + "x" * 5000 + "</p>"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"subject": "Hi\r\nBcc: all@example.com"}, "subject"),
        ({"subject": "Hi\nthere"}, "subject"),
        ({"subject": "Hi\u2028there"}, "subject"),
        ({"to_name": "Ana\r\nBcc: x@example.com"}, "to_name"),
        ({"from_address": "Acme\n <billing@example.com>"}, "from_address"),
        ({"to_address": "ana@example.com\r\nBcc: x@example.com"}, "to_address"),
        ({"to_address": "not-an-address"}, "to_address"),
        ({"to_address": "a@b@example.com"}, "to_address"),
        ({"from_address": "Acme <>"}, "from_address"),
        ({"message_id": "em_1@credira.example.com"}, "message_id"),
        ({"message_id": "<em 1@credira.example.com>"}, "message_id"),
        ({"message_id": "<em_1@credira.example.com>\r\nBcc: x@example.com"}, "message_id"),
        ({"headers": {"X-Tag": "a\r\nBcc: x@example.com"}}, "X-Tag"),
        ({"headers": {"X Tag": "a"}}, "invalid header name"),
        ({"headers": {"Bad:Name": "a"}}, "invalid header name"),
        ({"headers": {"Subject": "other"}}, "Subject"),
        ({"headers": {"message-id": "<x@y>"}}, "message-id"),
        ({"headers": {"Content-Type": "text/plain"}}, "Content-Type"),
        ({"headers": {"Bcc": "all@example.com"}}, "Bcc"),
        ({"headers": {"List-Id": "a", "list-id": "b"}}, "list-id"),
        ({"headers": {"X-Long": "y" * 1200}}, "X-Long"),
    ],
)
def test_mime_refuses_what_cannot_be_sent_as_given(
    changes: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        build_mime(email(**changes))


def test_mime_non_ascii_extra_header_is_encoded() -> None:
    data, parsed = wire(email(headers={"X-Campaign": "Relance échue"}))

    assert parsed["X-Campaign"] == "Relance échue"
    assert data.isascii()
