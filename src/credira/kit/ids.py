"""Object ids: a fixed prefix and a time-ordered random token.

The token is a ULID-style value (48 bits of milliseconds, 80 random bits) in lowercase Crockford
base32, so ids sort by creation time. That makes ``starting_after`` cursors a plain range scan on
the primary key.
"""

from __future__ import annotations

import os
import re
import threading
import time

from credira.errors import InvalidRequest

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

PREFIXES = {
    "account": "acc_",
    "user": "user_",
    "invoice": "inv_",
    "agent": "agent_",
    "callout": "callout_",
    "call": "call_",
    "email": "email_",
    "template": "template_",
    "attempt": "attempt_",
    "track": "track_",
    "request": "req_",
    "webhook": "whk_",
    "delivery": "dlv_",
    "event": "evt_",
    "plan": "plan_",
    "plan_step": "pstep_",
    "import": "imp_",
    "key": "key_",
}

# Ids we issue are 26 characters; the documented examples use shorter digit runs
# ("callout_123456789"), which must be accepted as well-formed (and simply not found).
_TOKEN = re.compile(r"[0-9A-Za-z]{1,64}")


# Every pair of characters, indexed by the 10 bits they stand for: a token is 13 lookups.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_TOKEN_SHIFTS = tuple(range(120, -1, -10))  # 26 characters: 130 bits, 10 at a time

_RANDOM_BYTES = 10  # 80 bits
_POOL_SIZE = 4096


class _Entropy:
    """Random bytes from the operating system, drawn a page at a time instead of once per id.

    A child process starts with an empty pool (``os.register_at_fork``), so a parent and its
    child never hand out the same bytes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0

    def draw(self) -> int:
        with self._lock:
            start = self._offset
            if start + _RANDOM_BYTES > len(self._pool):
                self._pool = os.urandom(_POOL_SIZE)
                start = 0
            self._offset = start + _RANDOM_BYTES
            return int.from_bytes(self._pool[start : start + _RANDOM_BYTES])

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0


_entropy = _Entropy()
os.register_at_fork(after_in_child=_entropy.reset)


def new_token() -> str:
    """10 characters of milliseconds (50 bits), then 16 of randomness (80 bits)."""
    value = (time.time_ns() // 1_000_000 % (1 << 50)) << 80 | _entropy.draw()
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _TOKEN_SHIFTS])


def new_id(kind: str) -> str:
    return PREFIXES[kind] + new_token()


class _Monotonic:
    """Tokens that also sort in the order this process made them, within one millisecond
    (ULID's monotonic mode: the next token of the same millisecond is the last one plus 1)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        value = (time.time_ns() // 1_000_000 % (1 << 50)) << 80 | _entropy.draw()
        with self._lock:
            if value >> 80 <= self._last >> 80:
                value = self._last + 1
            self._last = value
        return "".join([_PAIRS[(value >> shift) & 1023] for shift in _TOKEN_SHIFTS])


_monotonic = _Monotonic()


def new_ordered_id(kind: str) -> str:
    """An id that sorts after every id this process made before it (events keep their order
    when several are made in one millisecond)."""
    return PREFIXES[kind] + _monotonic.next()


def is_valid_id(kind: str, value: str) -> bool:
    prefix = PREFIXES[kind]
    return value.startswith(prefix) and _TOKEN.fullmatch(value[len(prefix) :]) is not None


def check_id(kind: str, value: str, label: str | None = None) -> str:
    """Return ``value`` when it is a well-formed id of ``kind``, else raise ``INVALID_REQUEST``."""
    if not is_valid_id(kind, value):
        raise InvalidRequest(f"Invalid {label or kind} ID format")
    return value
