"""The SMTP adapter against a real SMTP server (aiosmtpd) started in the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import pytest
import structlog

from credira.channel.email import OutgoingEmail, SmtpSender, parse_smtp_url
from tests.channel.smtpd import Certificate, SmtpServer
from tests.support import free_port

UNSUBSCRIBE = (
    "<https://credira.example.com/v1/email/unsubscribe/"
    "tk_8f3a9c2e1b7d4f6a0e5c3b9d8a7f6e5d.c2lnbmF0dXJlLW9mLXRoZS10cmFja2luZy1saW5r>, "
    "<mailto:unsubscribe@credira.example.com?subject=tk_8f3a9c2e1b7d4f6a0e5c3b9d8a7f6e5d>"
)


def email(**changes: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "message_id": "<em_4b1d.attempt-1@credira.example.com>",
        "from_address": "Crédira Billing <billing@credira.example.com>",
        "to_address": "jorg.muller@example.com",
        "to_name": "Jörg Müller, Jr.",
        "subject": "Rappel : facture n° INV-042 — échéance dépassée",
        "text": "Bonjour Jörg,\n\nLa facture INV-042 (1 250,00 €) reste impayée.\n",
        "html": "<p>Bonjour J&ouml;rg,</p><p>La facture <b>INV-042</b> reste impay&eacute;e.</p>",
        "headers": {
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    fields.update(changes)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


async def test_smtp_delivers_the_message_as_built(server: SmtpServer) -> None:
    result = await SmtpSender(server.url).send(email())

    assert result.status == "delivered"
    assert result.reply == "250 2.0.0 Ok: queued as Q1"
    [received] = server.received
    assert received.mail_from == "billing@credira.example.com"
    assert received.rcpt_tos == ["jorg.muller@example.com"]
    assert not received.tls  # the server offers no STARTTLS: opportunistic means plain
    message = received.message
    assert message["Subject"] == "Rappel : facture n° INV-042 — échéance dépassée"
    assert message["To"].addresses[0].display_name == "Jörg Müller, Jr."
    assert message["To"].addresses[0].addr_spec == "jorg.muller@example.com"
    assert message["From"].addresses[0].display_name == "Crédira Billing"
    assert message["Message-ID"] == "<em_4b1d.attempt-1@credira.example.com>"
    assert message["List-Unsubscribe"] == UNSUBSCRIBE
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    body = text.get_content().replace("\r\n", "\n")  # the wire's CRLF, as parsed
    assert body == "Bonjour Jörg,\n\nLa facture INV-042 (1 250,00 €) reste impayée.\n"
    assert html.get_content_type() == "text/html"
    assert "<b>INV-042</b> reste impay&eacute;e." in html.get_content()
    # On the wire: ASCII only, non-ASCII headers as encoded-words, the unsubscribe URL not.
    assert received.data.isascii()
    assert b"List-Unsubscribe: <https://credira.example.com/" in received.data
    assert b"Subject: Rappel : facture =?utf-8?" in received.data


@pytest.mark.parametrize(
    ("command", "reply", "status"),
    [
        ("RCPT", "550 5.1.1 No such user", "permanent_failure"),
        ("RCPT", "451 4.7.1 Greylisted, try again later", "temporary_failure"),
        ("MAIL", "553 5.7.1 Sender address rejected", "permanent_failure"),
        ("MAIL", "421 4.3.2 Service shutting down", "temporary_failure"),
        ("DATA", "554 5.7.1 Message rejected as spam", "permanent_failure"),
        ("DATA", "451 4.3.0 Local error in processing", "temporary_failure"),
    ],
)
async def test_smtp_refusal_is_classed_and_its_reply_kept(
    server: SmtpServer, command: str, reply: str, status: str
) -> None:
    server.handler.script(command, reply)

    result = await SmtpSender(server.url).send(email())

    assert (result.status, result.reply) == (status, reply)
    assert server.received == []


async def test_smtp_temporary_refusal_then_acceptance_delivers_once(server: SmtpServer) -> None:
    server.handler.script("DATA", "451 4.3.0 Try again later")
    sender = SmtpSender(server.url)

    first = await sender.send(email())
    second = await sender.send(email())

    assert [first.status, second.status] == ["temporary_failure", "delivered"]
    assert len(server.received) == 1


PASSWORD = "p@ss:wörd/%?#"  # every character a URL needs percent-encoded


def _auth_url(server: SmtpServer, user: str | None, password: str | None) -> str:
    credentials = ""
    if user is not None:
        credentials = quote(user, safe="")
        if password is not None:
            credentials += ":" + quote(password, safe="")
        credentials += "@"
    return server.url.replace("://", f"://{credentials}") + "?starttls=true&tls_verify=false"


def auth_server(certificate: Certificate) -> SmtpServer:
    """AUTH after STARTTLS, as real submission servers do."""
    return SmtpServer(
        starttls=certificate.server_context(),
        users={"billing@credira.example.com": PASSWORD},
    )


async def test_smtp_logs_in_with_percent_decoded_credentials(certificate: Certificate) -> None:
    with auth_server(certificate) as server:
        url = _auth_url(server, "billing@credira.example.com", PASSWORD)
        with structlog.testing.capture_logs() as logs:
            result = await SmtpSender(url).send(email())

    assert result.status == "delivered"
    assert [item.login for item in server.received] == ["billing@credira.example.com"]
    assert logs, "the send is logged"
    assert PASSWORD not in repr(logs)
    assert quote(PASSWORD, safe="") not in repr(logs)


# Wrong or missing credentials are our configuration, not the recipient's address: never a
# bounce (which would blame and may suppress the address) but a temporary failure, retried and
# then failed, that works again once the operator fixes CREDIRA_SMTP_URL.
@pytest.mark.parametrize(
    ("user", "password", "reply_start"),
    [
        ("billing@credira.example.com", "wrong", "authentication failed: 535"),
        ("nobody@credira.example.com", PASSWORD, "authentication failed: 535"),
        (None, None, "530 5.7.0 Authentication required"),
    ],
)
async def test_smtp_refused_login_is_a_temporary_failure(
    certificate: Certificate, user: str | None, password: str | None, reply_start: str
) -> None:
    with auth_server(certificate) as server:
        sender = SmtpSender(_auth_url(server, user, password))
        with structlog.testing.capture_logs() as logs:
            result = await sender.send(email())

    assert result.status == "temporary_failure"
    assert result.reply is not None
    assert result.reply.startswith(reply_start)
    assert server.received == []
    assert "wrong" not in repr(logs)
    assert "wrong" not in repr(sender)


async def test_smtp_closed_port_is_a_temporary_failure() -> None:
    result = await SmtpSender(f"smtp://127.0.0.1:{free_port()}?timeout=5").send(email())

    assert result.status == "temporary_failure"
    assert result.reply is not None
    assert result.reply.startswith("cannot connect:")


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_smtp_silent_server_times_out_as_a_temporary_failure(silent_port: int) -> None:
    result = await SmtpSender(f"smtp://127.0.0.1:{silent_port}?timeout=0.3").send(email())

    assert result.status == "temporary_failure"
    assert result.reply is not None
    assert "timed out" in result.reply.lower()


async def test_smtp_refuses_an_unsendable_message_without_connecting(server: SmtpServer) -> None:
    result = await SmtpSender(server.url).send(email(subject="Hello\r\nBcc: all@example.com"))

    assert result.status == "permanent_failure"
    assert result.reply is not None
    assert result.reply.startswith("invalid message: subject")
    assert server.handler.data_seen == 0
    assert server.received == []


@pytest.mark.parametrize(
    ("query", "trust", "status", "tls"),
    [
        ("?starttls=true&tls_verify=false", False, "delivered", True),
        ("?tls_verify=false", False, "delivered", True),  # opportunistic: offered, so taken
        ("?starttls=true", True, "delivered", True),  # verified against a trusted certificate
        ("?starttls=true", False, "temporary_failure", False),  # self-signed, not trusted
        ("", False, "temporary_failure", False),  # opportunistic still verifies
    ],
)
async def test_smtp_starttls_with_self_signed_certificate(
    certificate: Certificate, query: str, trust: bool, status: str, tls: bool
) -> None:
    with SmtpServer(starttls=certificate.server_context(), require_starttls=True) as server:
        context = certificate.client_context() if trust else None
        result = await SmtpSender(server.url + query, tls_context=context).send(email())

    assert result.status == status, result.reply
    assert [item.tls for item in server.received] == ([tls] if status == "delivered" else [])
    if status != "delivered":
        assert result.reply is not None
        assert "certificate" in result.reply.lower()


async def test_smtp_starttls_required_by_us_but_not_offered(server: SmtpServer) -> None:
    result = await SmtpSender(server.url + "?starttls=true").send(email())

    assert result.status == "temporary_failure"
    assert result.reply is not None
    assert "STARTTLS" in result.reply
    assert server.received == []


async def test_smtp_plain_to_a_server_requiring_starttls_is_a_temporary_failure(
    certificate: Certificate,
) -> None:
    with SmtpServer(starttls=certificate.server_context(), require_starttls=True) as server:
        result = await SmtpSender(server.url + "?starttls=false").send(email())

    assert result.status == "temporary_failure"
    assert result.reply is not None
    assert result.reply.startswith("530")


async def test_smtps_implicit_tls(certificate: Certificate) -> None:
    with SmtpServer(implicit_tls=certificate.server_context()) as server:
        result = await SmtpSender(server.url + "?tls_verify=false").send(email())

    assert result.status == "delivered"
    assert [item.tls for item in server.received] == [True]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 587, False, None, None, None, 30.0, True)),
        ("smtps://mail.example.com", ("mail.example.com", 465, True, None, None, None, 30.0, True)),
        (
            "smtp://user%40example.com:p%40ss%3Aw%2Frd@[::1]:2525?starttls=true&timeout=7.5",
            ("::1", 2525, False, True, "user@example.com", "p@ss:w/rd", 7.5, True),
        ),
        (
            "smtp://apikey@relay.example.com:25?starttls=false&tls_verify=false",
            ("relay.example.com", 25, False, False, "apikey", None, 30.0, False),
        ),
    ],
)
def test_smtp_url_is_parsed(url: str, expected: tuple[object, ...]) -> None:
    config = parse_smtp_url(url)

    assert (
        config.host,
        config.port,
        config.implicit_tls,
        config.starttls,
        config.username,
        config.password,
        config.timeout,
        config.tls_verify,
    ) == expected
    assert "p@ss" not in repr(config)
    assert "p@ss" not in config.redacted


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://user:s3cret@mail.example.com", "scheme"),
        ("smtp://user:s3cret@:25", "no host"),
        ("smtp://user:s3cret@mail.example.com:notaport", "port"),
        ("smtp://user:s3cret@mail.example.com?starttls=maybe", "starttls"),
        ("smtp://user:s3cret@mail.example.com?timeout=soon", "timeout"),
        ("smtp://user:s3cret@mail.example.com?timeout=0", "timeout"),
        ("smtp://user:s3cret@mail.example.com?tls=true", "unknown option tls"),
        ("smtps://user:s3cret@mail.example.com?starttls=true", "already TLS"),
        ("smtp://user:s3cret@mail.example.com/inbox", "path"),
    ],
)
def test_bad_smtp_url_is_refused_without_echoing_the_password(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="invalid CREDIRA_SMTP_URL") as caught:
        SmtpSender(url)

    assert complaint in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_logs_in_over_a_plain_connection_when_told_not_to_use_tls() -> None:
    with SmtpServer(users={"billing@credira.example.com": PASSWORD}) as server:
        url = _auth_url(server, "billing@credira.example.com", PASSWORD)
        result = await SmtpSender(url.replace("starttls=true", "starttls=false")).send(email())

    assert result.status == "delivered"
    assert [(item.login, item.tls) for item in server.received] == [
        ("billing@credira.example.com", False)
    ]


# -- the hand-over: the one point after which the server may have the message ----------------


async def test_smtp_hands_over_once_after_the_envelope_is_accepted(server: SmtpServer) -> None:
    seen: list[int] = []

    async def hand_over() -> None:
        seen.append(len(server.received))  # nothing delivered yet when the point is reached

    result = await SmtpSender(server.url).send(email(), hand_over=hand_over)

    assert result.status == "delivered"
    assert seen == [0]
    assert len(server.received) == 1


@pytest.mark.parametrize("command", ["MAIL", "RCPT"])
async def test_smtp_refused_envelope_never_reaches_the_hand_over(
    server: SmtpServer, command: str
) -> None:
    server.handler.script(command, "550 5.1.1 No such user")
    calls: list[str] = []

    async def hand_over() -> None:
        calls.append("handed over")

    result = await SmtpSender(server.url).send(email(), hand_over=hand_over)

    assert result.status == "permanent_failure"
    assert calls == []


async def test_smtp_refused_hand_over_sends_nothing(server: SmtpServer) -> None:
    async def hand_over() -> None:
        raise RuntimeError("the database is away")

    result = await SmtpSender(server.url).send(email(), hand_over=hand_over)

    assert result.status == "temporary_failure"
    assert result.reply == "not sent: the database is away"
    assert server.received == []
    # The connection was left cleanly: the next attempt goes through.
    assert (await SmtpSender(server.url).send(email())).status == "delivered"
