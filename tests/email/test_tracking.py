"""Signed links and body decoration (``credira.email.tracking``): pure functions, no database."""

from __future__ import annotations

import base64
import html
import re
from typing import Any

import pytest

from credira.email import tracking
from credira.email.tracking import UnsafeTarget

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
BASE = "http://testserver"
TID = "track_01jdq5r1x8m3k2v7n4p6s9t0ab"
OTHER_TID = "track_01jdq5r1x8m3k2v7n4p6s9t0zz"
TARGET = "https://pay.example.com/invoices/INV-1?ref=email&utm_source=credira"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_genuine_tokens_verify_to_what_they_carry() -> None:
    assert tracking.verify_open(tracking.open_token(TID, KEY), KEY) == TID
    assert tracking.verify_unsubscribe(tracking.unsubscribe_token(TID, KEY), KEY) == TID
    assert tracking.verify_click(tracking.click_token(TID, TARGET, KEY), KEY) == (TID, TARGET)


def test_a_token_made_for_one_purpose_fails_for_the_others() -> None:
    opened = tracking.open_token(TID, KEY)
    unsubscribe = tracking.unsubscribe_token(TID, KEY)
    assert tracking.verify_unsubscribe(opened, KEY) is None
    assert tracking.verify_open(unsubscribe, KEY) is None
    assert tracking.verify_click(opened, KEY) is None
    assert tracking.verify_click(unsubscribe, KEY) is None


def _click_mutations() -> list[Any]:
    genuine = tracking.click_token(TID, TARGET, KEY)
    other = tracking.click_token(OTHER_TID, "https://other.example/", KEY)
    payload, signature = genuine.split(".")
    other_payload, other_signature = other.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    cases = [
        ("signature flipped", f"{payload}.{flipped}"),
        ("signature dropped", payload),
        ("signature empty", f"{payload}."),
        ("target changed", f"{_b64(_unb64(payload).replace(b'pay.', b'evil.'))}.{signature}"),
        ("target swapped from another email", f"{_b64(_unb64(other_payload))}.{signature}"),
        ("another email's signature", f"{payload}.{other_signature}"),
        (
            "tracking id changed",
            f"{_b64(_unb64(payload).replace(TID.encode(), OTHER_TID.encode()))}.{signature}",
        ),
        ("payload not base64", f"{payload}!.{signature}"),
        ("truncated payload", f"{payload[:-3]}.{signature}"),
        ("signed with another key", tracking.click_token(TID, TARGET, OTHER_KEY)),
        ("garbage", "..."),
        ("empty", ""),
        ("non-ascii", f"{payload}.{signature[:-1]}é"),
        ("huge", "A" * 100_000 + "." + signature),
    ]
    return [pytest.param(token, id=case) for case, token in cases]


@pytest.mark.parametrize("token", _click_mutations())
def test_altered_click_token_fails_verification(token: str) -> None:
    assert tracking.verify_click(token, KEY) is None


@pytest.mark.parametrize(
    ("make", "verify"),
    [
        (tracking.open_token, tracking.verify_open),
        (tracking.unsubscribe_token, tracking.verify_unsubscribe),
    ],
    ids=["open", "unsubscribe"],
)
def test_altered_open_or_unsubscribe_token_fails_verification(make: Any, verify: Any) -> None:
    genuine = make(TID, KEY)
    _, signature = genuine.split(".")
    altered = [
        f"{OTHER_TID}.{signature}",
        f"{TID}.{make(OTHER_TID, KEY).split('.')[1]}",
        make(TID, OTHER_KEY),
        genuine + "x",
        genuine.replace(".", ""),
        f"not_a_tracking_id.{signature}",
        f"{TID.upper()}.{signature}",
        "",
    ]
    assert verify(genuine, KEY) == TID
    for token in altered:
        assert verify(token, KEY) is None, token


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "mailto:someone@example.com",
        "ftp://files.example.com/a",
        "/relative/path",
        "//evil.example/protocol-relative",
        "https:///no-host",
        "https:\\\\evil.example",
        "https://example.com/\x00nul",
        "https://example.com/\x1bescape",
        "https://example.com/" + "a" * tracking.MAX_TARGET_LENGTH,
        "",
    ],
)
def test_click_link_refuses_a_target_that_is_not_absolute_http(target: str) -> None:
    with pytest.raises(UnsafeTarget):
        tracking.click_url(BASE, TID, target, KEY)


@pytest.mark.parametrize(
    ("given", "signed"),
    [
        ("https://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        ("HTTP://Example.com/", "HTTP://Example.com/"),
        ("  https://example.com/padded  ", "https://example.com/padded"),
        ("https://exa\nmple.com/x", "https://example.com/x"),
        ("https://example.com/ü?q=ä b", "https://example.com/ü?q=ä b"),
    ],
)
def test_click_link_signs_the_target_as_a_browser_reads_it(given: str, signed: str) -> None:
    url = tracking.click_url(BASE, TID, given, KEY)
    assert url.startswith(f"{BASE}/t/c/")
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", url.removeprefix(f"{BASE}/t/c/"))
    assert tracking.verify_click(url.removeprefix(f"{BASE}/t/c/"), KEY) == (TID, signed)


def test_urls_live_under_the_public_url() -> None:
    for base in ("https://mail.example.com", "https://mail.example.com/"):
        assert tracking.open_pixel_url(base, TID, KEY) == (
            f"https://mail.example.com/t/o/{tracking.open_token(TID, KEY)}.gif"
        )
        assert tracking.unsubscribe_url(base, TID, KEY) == (
            f"https://mail.example.com/u/{tracking.unsubscribe_token(TID, KEY)}"
        )


def test_list_unsubscribe_headers_follow_rfc_8058() -> None:
    headers = tracking.list_unsubscribe_headers("https://mail.example.com", TID, KEY)
    assert headers == {
        "List-Unsubscribe": f"<https://mail.example.com/u/{tracking.unsubscribe_token(TID, KEY)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _footer() -> str:
    """What decoration adds: the unsubscribe line and the pixel (alone, for an empty body)."""
    return tracking.decorate_html("", public_url=BASE, tracking_id=TID, key=KEY)


def test_footer_holds_the_unsubscribe_link_and_the_pixel() -> None:
    footer = _footer()
    unsubscribe = html.escape(tracking.unsubscribe_url(BASE, TID, KEY))
    pixel = html.escape(tracking.open_pixel_url(BASE, TID, KEY))
    assert f'<a href="{unsubscribe}">unsubscribe</a>' in footer
    assert f'<img src="{pixel}" width="1" height="1" alt=""' in footer


# Each case: the HTML in, the HTML expected out with "[[n]]" for the n-th tracked link's href
# value and "[[footer]]" for the decoration, and the targets the tracked links carry, in order.
DECORATE_CASES = [
    pytest.param(
        '<p>Pay <a href="https://pay.example.com/i/1">here</a>.</p>',
        '<p>Pay <a href="[[0]]">here</a>.</p>[[footer]]',
        ["https://pay.example.com/i/1"],
        id="fragment",
    ),
    pytest.param(
        '<html><head><title>T</title></head><body><a href="http://a.example/x">x</a></body></html>',
        '<html><head><title>T</title></head><body><a href="[[0]]">x</a>[[footer]]</body></html>',
        ["http://a.example/x"],
        id="document: footer before </body>",
    ),
    pytest.param(
        "<A class=\"btn\" HREF='https://a.example/?q=1&amp;r=2' target=_blank>Go</A>",
        '<A class="btn" HREF="[[0]]" target=_blank>Go</A>[[footer]]',
        ["https://a.example/?q=1&r=2"],
        id="other attributes, case, single quotes and entities",
    ),
    pytest.param(
        '<a href="mailto:a@b.example">m</a><a href="tel:+14155550100">t</a><a href="#top">h</a>'
        '<a href="/relative">r</a><a name="anchor">n</a>'
        '<a href="">e</a><a href>v</a>',
        '<a href="mailto:a@b.example">m</a><a href="tel:+14155550100">t</a><a href="#top">h</a>'
        '<a href="/relative">r</a><a name="anchor">n</a>'
        '<a href="">e</a><a href>v</a>[[footer]]',
        [],
        id="mailto, tel and relative links are kept",
    ),
    pytest.param(
        '<a href="javascript:alert(1)">j</a><a class="b" HREF=" JavaScript:alert(1)">J</a>'
        '<a href="java&#9;script:alert(1)" title="t">t</a><area href="vbscript:msgbox(1)">'
        "<a href='data:text/html,<script>alert(1)</script>'>d</a>"
        '<a href="&#x6A;avascript:alert(1)">e</a><a href="file:///etc/passwd">f</a>',
        '<a >j</a><a class="b" >J</a><a  title="t">t</a><area >'
        "<a >d</a><a >e</a><a >f</a>[[footer]]",
        [],
        id="unauthenticated links: a link of another scheme loses its href",
    ),
    pytest.param(
        '<!-- <a href="https://comment.example"> -->'
        "<script>document.write('<a href=\"https://script.example\">')</script>"
        "<style>a[href^='https://style.example'] { color: red }</style>"
        '<a title="<a href=https://title.example>" href=https://bare.example/p>b</a>',
        '<!-- <a href="https://comment.example"> -->'
        "<script>document.write('<a href=\"https://script.example\">')</script>"
        "<style>a[href^='https://style.example'] { color: red }</style>"
        '<a title="<a href=https://title.example>" href="[[0]]">b</a>[[footer]]',
        ["https://bare.example/p"],
        id="comments, scripts, styles and attribute values are not links",
    ),
    pytest.param(
        '<BODY>\r\n<p>Grüße — 10 €</p>\n<a\n  data-x="1"\n  href = "https://x.example/ü"\n>x</a>'
        '\n<img src="https://img.example/a.png" alt="logo">\n</BODY>\n',
        '<BODY>\r\n<p>Grüße — 10 €</p>\n<a\n  data-x="1"\n  href = "[[0]]"\n>x</a>'
        '\n<img src="https://img.example/a.png" alt="logo">\n[[footer]]</BODY>\n',
        ["https://x.example/ü"],
        id="multi-line tags, non-ASCII text, images kept",
    ),
    pytest.param(
        '<a href="https://one.example" href="https://two.example">d</a>'
        '<a href="  https://padded.example/  ">p</a><area shape="rect" href="https://area.example">',
        '<a href="[[0]]" href="https://two.example">d</a>'
        '<a href="[[1]]">p</a><area shape="rect" href="[[2]]">[[footer]]',
        ["https://one.example", "https://padded.example/", "https://area.example"],
        id="first href wins, blanks dropped, area links",
    ),
    pytest.param(
        '<a href="http://testserver/u/already">u</a><a href="http://testserver/t/c/x.y">c</a>'
        "<p>no closing body",
        '<a href="http://testserver/u/already">u</a><a href="http://testserver/t/c/x.y">c</a>'
        "<p>no closing body[[footer]]",
        [],
        id="our own links are not wrapped again",
    ),
    pytest.param(
        "<html><body><p>a</p></body><!-- trailer --></html>",
        "<html><body><p>a</p>[[footer]]</body><!-- trailer --></html>",
        [],
        id="no links",
    ),
    pytest.param(
        "<html><p>no body tag</p></html>",
        "<html><p>no body tag</p>[[footer]]</html>",
        [],
        id="footer before </html> without a body",
    ),
]


@pytest.mark.parametrize(("given", "expected", "targets"), DECORATE_CASES)
def test_decorate_html_tracks_every_web_link_and_keeps_the_rest(
    given: str, expected: str, targets: list[str]
) -> None:
    out = tracking.decorate_html(given, public_url=BASE, tracking_id=TID, key=KEY)

    want = expected.replace("[[footer]]", _footer())
    for index, target in enumerate(targets):
        want = want.replace(f"[[{index}]]", html.escape(tracking.click_url(BASE, TID, target, KEY)))
    assert out == want
    tokens = re.findall(r"/t/c/([A-Za-z0-9_.-]+)", out)
    clicks = [click for token in tokens if (click := tracking.verify_click(token, KEY))]
    assert [(click.tracking_id, click.target) for click in clicks] == [(TID, t) for t in targets]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello John,\nplease pay.", "Hello John,\nplease pay.\n\n{line}\n"),
        ("Hello\n\n\n", "Hello\n\n{line}\n"),
        ("", "\n\n{line}\n"),
    ],
)
def test_decorate_text_appends_an_unsubscribe_line(text: str, expected: str) -> None:
    url = tracking.unsubscribe_url(BASE, TID, KEY)
    line = f"To stop receiving these emails, unsubscribe: {url}"
    assert tracking.decorate_text(text, unsubscribe=url) == expected.format(line=line)
