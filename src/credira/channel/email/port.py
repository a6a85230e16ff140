"""What Credira needs from an email transport: hand over one message, learn what became of it.

A message carries the ``Message-ID`` the caller chose (and stored) before the first attempt, so
an adapter can tell a retry from a new message and the record can point at what was sent.
The outcome is the one a sending MTA would know: the receiving server accepted the message
(``delivered``), refused it for good (``permanent_failure``, a bounce), or could not take it now
(``temporary_failure``, worth retrying). An adapter never raises for an expected failure.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class EmailSender(Protocol):
    name: str

    async def send(self, message: OutgoingEmail) -> SendResult:
        """Deliver ``message`` once; sending the same ``message_id`` again must not duplicate it
        where the adapter can tell (the outbox can; SMTP cannot take back what it handed over)."""
        ...
