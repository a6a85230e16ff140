"""A real SMTP server for tests (aiosmtpd in its own thread), recording what it receives.

Any test package may use it::

    with SmtpServer() as server:
        sender = SmtpSender(server.url)
        ...
        assert server.messages[0]["Subject"] == "..."

``server.handler.replies`` scripts refusals: ``{"RCPT": ["550 5.1.1 No such user"]}`` answers
the next RCPT so, then accepts again (a queue per command: MAIL, RCPT or DATA).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    replies: dict[str, deque[str]] = field(default_factory=dict)
    data_seen: int = 0  # DATA commands that reached the end of the message, accepted or not

    def script(self, command: str, *replies: str) -> None:
        self.replies.setdefault(command, deque()).extend(replies)

    def _scripted(self, command: str) -> str | None:
        queue = self.replies.get(command)
        return queue.popleft() if queue else None

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (reply := self._scripted("MAIL")) is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (reply := self._scripted("RCPT")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_seen += 1
        if (reply := self._scripted("DATA")) is not None:
            return reply
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.original_content or envelope.content,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"


class _Authenticator:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


class SmtpServer:
    """``starttls``: offer STARTTLS with this context (``require_starttls`` to insist);
    ``implicit_tls``: TLS from the first byte (smtps); ``users``: require AUTH (after STARTTLS
    when offered, else in the clear, which aiosmtpd warns about); ``smtputf8``: offer SMTPUTF8
    (RFC 6531), for messages with a non-ASCII address."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        implicit_tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
        smtputf8: bool = False,
    ) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        options: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if starttls is not None:
            options.update(tls_context=starttls, require_starttls=require_starttls)
        if users is not None:
            # Without STARTTLS, AUTH goes in the clear (aiosmtpd then warns: UserWarning).
            options.update(
                authenticator=_Authenticator(users),
                auth_required=True,
                auth_require_tls=starttls is not None,
            )
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="smtp.test",
            ssl_context=implicit_tls,
            **options,
        )
        self.scheme = "smtps" if implicit_tls is not None else "smtp"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def messages(self) -> list[EmailMessage]:
        return [item.message for item in self.handler.received]

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts this certificate only, with the usual hostname checks."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_certificate(folder: Path) -> Certificate:
    """A certificate for ``localhost`` and ``127.0.0.1``, signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)
