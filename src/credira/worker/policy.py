"""What becomes of a callout whose call ended without a conversation, and what a call's row
says of an ending nobody talked in. Pure: no SQL, no wall clock (instants are passed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from credira.account.settings import OutreachSettings

# What a call that ended without a conversation says of itself, by its final status.
SUMMARIES = {
    "voicemail": "Reached voicemail; the agent left a message.",
    "no_answer": "The call was not answered.",
    "busy": "The line was busy.",
    "failed": "The call could not be placed.",
    "cancelled": "The call was cancelled before it ended.",
}


def ends_unanswered(status: str, answered: bool) -> bool:
    """Whether a call's ending is told by a canned summary rather than by its analysis
    (voicemail whatever the provider says of the answer)."""
    return status == "voicemail" or not answered


def summary(status: str) -> str | None:
    """The canned summary of a call that ended in ``status`` without a conversation."""
    return SUMMARIES.get(status)


@dataclass(frozen=True)
class Retry:
    """After an unanswered attempt: try again at ``at`` (with ``reason``), or, when ``at`` is
    None, the attempts are spent and the callout ends unreached for ``reason``."""

    at: datetime | None
    reason: str


def after_unanswered(
    *,
    status: str,
    origin: str,
    attempts_made: int,
    settings: OutreachSettings,
    now: datetime,
) -> Retry:
    """The retry policy: a call requested through POST /calls is one attempt; a callout
    retries up to the account's ``max_call_attempts``, waiting its ``retry_delay``."""
    limit = 1 if origin == "call_request" else settings.max_call_attempts
    if attempts_made < limit:
        return Retry(now + settings.retry_delay(attempts_made), f"retry_after_{status}")
    return Retry(None, f"{status} on all {attempts_made} call attempts")
