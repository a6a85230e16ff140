"""What can go wrong asking an LLM, one class per way it fails (all under `LLMError`).

None of these is a client's error: the callers (the conversation agent, call analysis) turn them
into a polite closing line or the rules-based fallback. Messages name the server's status and
a piece of its answer, never the API key (the client blanks it out of anything it quotes).
"""

from __future__ import annotations

from typing import Literal

TimeoutPhase = Literal["connect", "first_token", "idle", "total"]


class LLMError(Exception):
    """Root of every failure of a request to an LLM."""

    retryable = False

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class LLMTimeout(LLMError):
    """A limit ran out: connecting, waiting for the first token (or the whole answer when not
    streaming), waiting between two chunks of a stream (``idle``), or the request as a whole."""

    def __init__(self, phase: TimeoutPhase, seconds: float) -> None:
        self.phase: TimeoutPhase = phase
        self.seconds = seconds
        super().__init__(f"LLM {phase.replace('_', ' ')} timeout after {seconds:g} s")
        # A server that could not be reached in time may answer the next attempt; one that was
        # reached and is slow is not asked again (it may still be working on the first).
        self.retryable = phase == "connect"


class LLMUnavailable(LLMError):
    """The server could not be reached, or dropped the connection before answering."""

    retryable = True


class LLMRateLimited(LLMError):
    """429. ``retry_after``: seconds the server asked to wait (None when it did not say)."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class LLMServerError(LLMError):
    """A 5xx answer, or an error the server reported inside a stream."""

    retryable = True

    def __init__(self, message: str, status: int | None) -> None:
        self.status_code = status
        super().__init__(message)


class LLMRequestRejected(LLMError):
    """A 4xx other than 429: a wrong key, an unknown model, a request the server cannot serve.
    Asking again would get the same answer."""

    def __init__(self, message: str, status: int) -> None:
        self.status_code = status
        super().__init__(message)


class LLMBadAnswer(LLMError):
    """An answer that does not follow the protocol, or a structured answer that is not the
    JSON object asked for (or fails its validation: `credira.llm.analysis` raises it too)."""


class LLMTruncated(LLMBadAnswer):
    """The answer stopped short: the stream ended before its finish, or the model ran out of
    tokens (``finish_reason: "length"``) in a structured answer or a tool call's arguments."""


class LLMDeclined(LLMBadAnswer):
    """The model refused to answer (OpenAI's ``message.refusal``, ``finish_reason:
    "content_filter"``)."""
