"""Delivery to an SMTP server (a relay such as Postfix, SES, Postmark, Mailgun) via aiosmtplib.

``CREDIRA_SMTP_URL`` says where and how::

    smtp://[user[:password]@]host[:port][?starttls=true|false&timeout=N&tls_verify=false]
    smtps://[user[:password]@]host[:port][?timeout=N&tls_verify=false]

``smtp`` is port 587 and STARTTLS when the server offers it, ``starttls=true`` makes it
required, ``starttls=false`` never tries it; ``smtps`` is TLS from the first byte, port 465.
User and password are percent-decoded. ``tls_verify=false`` accepts any certificate (only for
a test server with a self-signed one).

How an outcome is classed, and why:

- the server took the message (``250`` after DATA): ``delivered``, with its reply;
- a 5xx reply to MAIL, RCPT or DATA: ``permanent_failure`` (a bounce), with the reply;
- a 4xx reply, a refused or lost connection, a timeout, a TLS failure: ``temporary_failure``;
- a refused login (535 and the like), "authentication required" or "STARTTLS required" (530):
  ``temporary_failure``.
  It is our configuration that is wrong, not the recipient: a bounce would blame the address
  (and may suppress it), while a temporary failure retries, then fails the email, and starts
  working again once the operator fixes the credentials.

One connection per message, and its commands one by one (MAIL, RCPT, then DATA) rather than
aiosmtplib's ``sendmail``, so that the caller's hand-over callback runs at the only point after
which the server may have the message: once sender and recipient are accepted, before DATA.
A connection lost after that point leaves the outcome unknown; SMTP offers no way to ask and a
receiving server does not dedupe on Message-ID, so this adapter does not claim to dedupe and
the caller decides what an unknown outcome becomes.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import structlog

from credira.channel.email.mime import Encoded, encode_message
from credira.channel.email.port import HandOver, OutgoingEmail, SendResult

log = structlog.get_logger("credira.email")

DEFAULT_TIMEOUT = 30.0
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# RFC 4954 (and 3207's "530 Must issue a STARTTLS command first"): about us, see the module doc.
_AUTH_CODES = {530, 534, 535, 538}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool | None  # None: when the server offers it
    username: str | None
    password: str | None = field(repr=False)
    timeout: float
    tls_verify: bool

    @property
    def redacted(self) -> str:
        """The URL without its password, for logs and messages."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}:***@" if self.username is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"invalid CREDIRA_SMTP_URL: {name} must be true or false")


def parse_smtp_url(url: str) -> SmtpConfig:
    """Raises ``ValueError`` naming what is wrong (never echoing the password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("invalid CREDIRA_SMTP_URL: bad host or port") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("invalid CREDIRA_SMTP_URL: the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("invalid CREDIRA_SMTP_URL: no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("invalid CREDIRA_SMTP_URL: no path or fragment is expected")
    implicit = parts.scheme == "smtps"
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls", "timeout", "tls_verify"}
    if unknown:
        raise ValueError(f"invalid CREDIRA_SMTP_URL: unknown option {sorted(unknown)[0]}")
    if any(len(values) > 1 for values in query.values()):
        raise ValueError("invalid CREDIRA_SMTP_URL: an option is given twice")
    options = {name: values[0] for name, values in query.items()}
    starttls = _flag("starttls", options["starttls"]) if "starttls" in options else None
    if implicit and starttls:
        raise ValueError("invalid CREDIRA_SMTP_URL: smtps:// is already TLS, drop starttls")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise ValueError("invalid CREDIRA_SMTP_URL: timeout must be a number") from None
    if not 0 < timeout <= 600:
        raise ValueError("invalid CREDIRA_SMTP_URL: timeout must be in (0, 600] seconds")
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        starttls=starttls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
        tls_verify=_flag("tls_verify", options.get("tls_verify", "true")),
    )


def _reply(code: int, text: str) -> str:
    return f"{code} {' '.join(text.split())}".strip()


def _response_failure(code: int, text: str) -> SendResult:
    reply = _reply(code, text)
    if 500 <= code <= 599 and code not in _AUTH_CODES:
        return SendResult("permanent_failure", reply)
    return SendResult("temporary_failure", reply)


class SmtpSender:
    name = "smtp"
    dedupes = False

    def __init__(
        self,
        url: str,
        *,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        """``tls_context`` replaces the default (system trust store) verification, for a
        private CA; ``local_hostname`` is the EHLO name (default: this machine's FQDN)."""
        self.config = parse_smtp_url(url)
        self._tls_context = tls_context
        self._local_hostname = local_hostname

    def __repr__(self) -> str:
        return f"SmtpSender({self.config.redacted!r})"

    async def send(
        self, message: OutgoingEmail, *, hand_over: HandOver | None = None
    ) -> SendResult:
        try:
            encoded = encode_message(message)
        except ValueError as exc:
            return SendResult("permanent_failure", f"invalid message: {exc}")
        result = await self._deliver(encoded, hand_over)
        log.info(
            "email.smtp." + result.status,
            message_id=message.message_id,
            server=self.config.redacted,
            reply=result.reply,
        )
        return result

    def _client(self) -> aiosmtplib.SMTP:
        config = self.config
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            local_hostname=self._local_hostname,
            timeout=config.timeout,
            use_tls=config.implicit_tls,
            start_tls=False if config.implicit_tls else config.starttls,
            validate_certs=config.tls_verify,
            tls_context=self._tls_context if config.tls_verify else None,
        )

    async def _deliver(self, encoded: Encoded, hand_over: HandOver | None) -> SendResult:
        client = self._client()
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as exc:
            # Greeting, EHLO, STARTTLS or AUTH refused: about us or the server, not the message.
            reply = _reply(exc.code, exc.message)
            if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                return SendResult("temporary_failure", f"authentication failed: {reply}")
            return SendResult("temporary_failure", f"refused on connect: {reply}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # OSError covers ssl.SSLError (certificate, handshake) during STARTTLS.
            return SendResult("temporary_failure", f"cannot connect: {_describe(exc)}")
        try:
            result = await self._transaction(client, encoded, hand_over)
        except BaseException:
            client.close()
            raise
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()
        return result

    async def _transaction(
        self, client: aiosmtplib.SMTP, encoded: Encoded, hand_over: HandOver | None
    ) -> SendResult:
        sender, recipient, data = encoded.sender, encoded.recipient, encoded.data
        utf8 = encoded.smtputf8
        encoding = "utf-8" if utf8 else "ascii"
        try:
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            if utf8 and not client.supports_extension("smtputf8"):
                # A non-ASCII address and a server without SMTPUTF8: no retry will help.
                return SendResult("permanent_failure", "not supported by the server: SMTPUTF8")
            options = ["SMTPUTF8"] if utf8 else []
            if client.supports_extension("size"):
                options.insert(0, f"SIZE={len(data)}")
            await client.mail(sender, options=options, encoding=encoding)
            await client.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            # A refused sender or recipient (SMTPRecipientRefused is one of these).
            return _response_failure(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult("temporary_failure", f"connection lost: {_describe(exc)}")
        except ValueError as exc:  # an address aiosmtplib will not put on a command line
            return SendResult("permanent_failure", f"invalid message: {exc}")
        if hand_over is not None:
            try:
                await hand_over()
            except Exception as exc:
                # Nothing was handed over: the server drops the envelope with the connection.
                return SendResult("temporary_failure", f"not sent: {exc}"[:500])
        try:
            reply = await client.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            return _response_failure(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult("temporary_failure", f"connection lost: {_describe(exc)}")
        return SendResult("delivered", _reply(reply.code, reply.message))


def _describe(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, aiosmtplib.SMTPException) else str(exc)
    return " ".join((text or type(exc).__name__).split())
