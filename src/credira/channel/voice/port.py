"""What Credira needs from a telephony / voice-AI provider.

Shaped after what the field offers (Twilio, Telnyx, Vapi, Retell, Bland): a call is started
with an idempotency key the provider dedupes on, it moves through statuses asynchronously
(pushed by webhook or read by polling), and afterwards has a transcript and possibly a
recording. Adapters translate their provider's statuses to ``CallStatus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

CallStatus = Literal[
    "initiated",
    "ringing",
    "in_progress",
    "completed",
    "no_answer",
    "busy",
    "failed",
    "voicemail",
    "cancelled",
]
FINAL_STATUSES: frozenset[str] = frozenset(
    {"completed", "no_answer", "busy", "failed", "voicemail", "cancelled"}
)


@dataclass(frozen=True)
class CallRequest:
    idempotency_key: str
    to_number: str
    from_number: str | None
    script: str
    language: str
    voice: str
    max_duration: int
    metadata: dict[str, str] = field(default_factory=dict)
    # The values the script was rendered with (customer_name, invoice_number, amount ...), for
    # a provider whose own AI agent holds the conversation.
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderCall:
    provider_call_id: str
    status: CallStatus
    answered_time: datetime | None = None
    ended_time: datetime | None = None
    duration: int | None = None  # seconds of conversation, as the provider bills it
    # Speaker-labelled lines ("Agent: ..." / "Debtor: ...", or a provider's own labels that
    # credira.transcript.format reads), once final.
    transcript: str | None = None
    from_number: str | None = None  # the caller id the provider dialled from
    cost: str | None = None  # decimal string in ``currency``
    currency: str | None = None
    error: str | None = None
    # When the status is due to change next, for a provider that can tell (the simulator
    # follows a timeline): the call's follower looks again then instead of at its next poll.
    changes_at: datetime | None = None
    # Our own agent's record of the conversation (``credira.conversation.record``), once
    # final: its outcome, from the tools the agent used, wins over the transcript's reading.
    conversation: dict[str, Any] | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class Recording:
    content: bytes
    extension: str  # "wav" or "mp3"


class VoiceProviderError(Exception):
    """The provider refused or failed the request; ``retryable`` when it may work later."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class CallStartUnclear(VoiceProviderError):
    """The provider was asked to place the call and nobody can say yet whether it did (the
    request timed out, the connection dropped, a gateway error): the attempt stays open and
    ``start_call`` is asked again from ``look_again_at`` on, which looks the call up at the
    provider before it would ever dial again."""

    def __init__(self, message: str, *, look_again_at: datetime) -> None:
        super().__init__(message)
        self.look_again_at = look_again_at


class VoiceProvider(Protocol):
    name: str
    # Whether start_call with a repeated idempotency key is guaranteed not to dial again.
    dedupes: bool

    async def start_call(self, request: CallRequest) -> str:
        """Place the call (or find the one placed with this key) and return its id."""
        ...

    async def get_call(self, provider_call_id: str) -> ProviderCall:
        """The call's current status, and its results once final."""
        ...

    async def cancel_call(self, provider_call_id: str) -> None:
        """Hang up or abandon the call if it is not final yet."""
        ...

    def recording_on_request(self, result: ProviderCall) -> str | None:
        """The extension ("wav" or "mp3") of the final call's recording when the provider keeps
        it and ``fetch_recording`` can fetch it at any later time; None when there is none, or
        when it must be fetched now (the provider deletes it, or its link expires).

        Credira fetches a recording the provider keeps only when someone first asks for it,
        not at the end of every call."""
        ...

    async def fetch_recording(self, provider_call_id: str) -> Recording | None:
        """The call's audio once it is final, when the provider recorded it."""
        ...
