"""Key material. Keys are 256-bit random tokens, so a plain SHA-256 is a safe one-way store
(a slow password hash buys nothing against a key that cannot be guessed) and an indexed lookup."""

from __future__ import annotations

import hashlib
import hmac
import secrets

USER_KEY_PREFIX = "credira_sk_"
ADMIN_KEY_PREFIX = "credira_admin_"


def new_user_key() -> str:
    return USER_KEY_PREFIX + secrets.token_urlsafe(32)


def new_admin_key() -> str:
    return ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def display_prefix(key: str) -> str:
    return key[: len(USER_KEY_PREFIX) + 4]
