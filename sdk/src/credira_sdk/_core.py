"""What the sync and async clients share: retries and their delays, idempotency keys, the
envelope and its pages. Pure: no I/O here."""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from credira_sdk import errors

__version__ = "0.1.0"

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
# A Retry-After beyond this is not waited for: the error is raised instead.
LONGEST_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Retries:
    """How often and how long to retry a request that got no reply, a 429 or a 5xx.

    The wait is the reply's ``Retry-After`` (seconds or an HTTP date) when it gives one up to
    ``LONGEST_RETRY_AFTER``, else ``min(base * 2**attempt, longest)`` less up to a quarter of
    jitter. Every method is retried: a POST carries the same ``Idempotency-Key`` on each
    attempt, so the server applies it once.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    base: float = 0.5
    longest: float = 8.0

    def retryable_status(self, status: int) -> bool:
        return status == 429 or status >= 500

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` from 0)."""
        told = retry_after(headers or {})
        if told is not None and 0 <= told <= LONGEST_RETRY_AFTER:
            return told
        backoff: float = min(self.base * 2.0**attempt, self.longest)
        return backoff * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not a secret


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (or ``retry-after-ms``), from a number or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def new_idempotency_key() -> str:
    return f"sdk-{uuid.uuid4()}"


def api_key_from(api_key: str | None) -> str:
    key = api_key or os.environ.get("CREDIRA_API_KEY")
    if not key:
        raise ValueError("an API key is needed: api_key=... or CREDIRA_API_KEY")
    return key


def base_url_from(base_url: str | None) -> str:
    return (base_url or os.environ.get("CREDIRA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, whether more follow, the total count of matches."""

    data: list[T]
    has_more: bool
    total: int | None
    request_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def next_cursor(self) -> str | None:
        """The ``starting_after`` of the next page, when there is one."""
        if not self.has_more or not self.data:
            return None
        last = self.data[-1]
        return str(last["id"]) if isinstance(last, dict) else None


def page_of(body: Any) -> Page[Any]:
    meta = body.get("meta", {}) if isinstance(body, dict) else {}
    total = next((v for k, v in meta.items() if k.startswith("total_")), None)
    return Page(
        data=list(body.get("data") or []),
        has_more=bool(meta.get("has_more", False)),
        total=total if isinstance(total, int) else None,
        request_id=meta.get("request_id"),
        meta=dict(meta),
    )


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left unset."""
    return {k: v for k, v in params.items() if v is not None}


def decode(response: httpx.Response) -> Any:
    """The reply's JSON (``None`` when it is not JSON)."""
    try:
        return response.json()
    except ValueError:
        return None


def failure(response: httpx.Response) -> errors.CrediraError:
    return errors.from_reply(response.status_code, response.headers, decode(response))


def connection_failure(exc: httpx.TransportError) -> errors.APIConnectionError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return errors.APIConnectionError(f"the connection {kind}: {exc!r}")
