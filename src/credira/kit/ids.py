"""Object ids: a fixed prefix and a time-ordered random token.

The token is a ULID-style value (48 bits of milliseconds, 80 random bits) in lowercase Crockford
base32, so ids sort by creation time. That makes ``starting_after`` cursors a plain range scan on
the primary key.
"""

from __future__ import annotations

import re
import secrets
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
    "event": "evt_",
    "key": "key_",
}

# Ids we issue are 26 characters; the documented examples use shorter digit runs
# ("callout_123456789"), which must be accepted as well-formed (and simply not found).
_TOKEN = re.compile(r"[0-9A-Za-z]{1,64}")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_token() -> str:
    millis = time.time_ns() // 1_000_000
    return _encode(millis, 10) + _encode(secrets.randbits(80), 16)


def new_id(kind: str) -> str:
    return PREFIXES[kind] + new_token()


def is_valid_id(kind: str, value: str) -> bool:
    prefix = PREFIXES[kind]
    return value.startswith(prefix) and _TOKEN.fullmatch(value[len(prefix) :]) is not None


def check_id(kind: str, value: str, label: str | None = None) -> str:
    """Return ``value`` when it is a well-formed id of ``kind``, else raise ``INVALID_REQUEST``."""
    if not is_valid_id(kind, value):
        raise InvalidRequest(f"Invalid {label or kind} ID format")
    return value
