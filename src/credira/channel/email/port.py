"""What Credira needs from an email transport: hand over one message, learn what became of it.

A message carries the ``Message-ID`` the caller chose (and stored) before the first attempt, so
an adapter can tell a retry from a new message and the record can point at what was sent.
The outcome is the one a sending MTA would know: the receiving server accepted the message
(``delivered``), refused it for good (``permanent_failure``, a bounce), or could not take it now
(``temporary_failure``, worth retrying). An adapter never raises for an expected failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

SendStatus = Literal["delivered", "temporary_failure", "permanent_failure"]


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str  # "<token@domain>", fixed by the caller, kept as the Message-ID header
    from_address: str  # "Name <addr>" or "addr"
    to_address: str
    to_name: str | None
    subject: str
    text: str
    html: str
    # Extra headers passed through as written, e.g. List-Unsubscribe, List-Unsubscribe-Post.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    reply: str | None = None  # e.g. "550 5.1.1 No such user", kept for the record


# Called by an adapter at its point of no return: after it, the message may have been
# delivered whatever happens next; before it, it surely has not. When it raises, the adapter
# abandons the message without delivering it and answers ``temporary_failure``.
HandOver = Callable[[], Awaitable[None]]


class HandOverRefused(Exception):
    """Raised by a hand-over callback that may not let the message go (another attempt owns
    it, or its record could not be written)."""


class EmailSender(Protocol):
    name: str
    # Whether sending one Message-ID twice delivers it once (the outbox), so that an attempt
    # whose outcome went unrecorded can simply be sent again.
    dedupes: bool

    async def send(
        self, message: OutgoingEmail, *, hand_over: HandOver | None = None
    ) -> SendResult:
        """Deliver ``message`` once; sending the same ``message_id`` again must not duplicate it
        where the adapter can tell (the outbox can; SMTP cannot take back what it handed over).

        ``hand_over``, when given, is awaited exactly once, just before the step that may
        deliver the message (SMTP: the DATA command, after the server accepted sender and
        recipient; the outbox: writing the file), and never when the message was refused or
        failed before that step."""
        ...
