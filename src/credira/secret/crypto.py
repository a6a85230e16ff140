"""Secrets the service keeps for its users (a provider's auth token, a webhook's signing
secret), encrypted at rest with Fernet (AES-128-CBC and HMAC-SHA256, a timestamped token).

``CREDIRA_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated: the first encrypts,
every one decrypts (``MultiFernet``), so a key is rotated by putting a new one first, running
``Cipher.rotate`` over the stored values (or letting writes renew them), then dropping the old
one. Unset, a key generated once into the data dir is used (``encryption.key``, readable by
its owner only): right for one host on SQLite; several hosts sharing a PostgreSQL database must
set the variable, or each would make a key of its own and fail to read the others' secrets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from credira.config import Settings

KEY_FILE = "encryption.key"


class DecryptionFailed(ValueError):
    """A stored value none of the configured keys opens (a key dropped too early, or the
    value changed)."""


class Cipher:
    """``encrypt(bytes) -> str`` and ``decrypt(str) -> bytes`` over the configured keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("no encryption key")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    def encrypt(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise DecryptionFailed(
                "a stored secret does not open with the configured keys"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret under the first key (after a new key was put first)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise DecryptionFailed(
                "a stored secret does not open with the configured keys"
            ) from None


def parse_keys(value: str) -> list[str]:
    """The keys of ``CREDIRA_ENCRYPTION_KEY`` (ValueError naming what is wrong)."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ValueError(
                f"key {number} is not a Fernet key (32 url-safe base64-encoded bytes; make one "
                "with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    return keys


def _development_key(data_dir: Path) -> str:
    """The data dir's own key, made on first use (two processes racing agree: the file is
    created exclusively, and the loser reads the winner's)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode("ascii") + "\n")
    return path.read_text().strip()


def cipher_for(settings: Settings) -> Cipher:
    """The cipher of these settings: ``CREDIRA_ENCRYPTION_KEY``, else the data dir's key."""
    if settings.encryption_key:
        return _cipher(tuple(parse_keys(settings.encryption_key)))
    return _cipher((_development_key(settings.data_dir),))


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> Cipher:
    return Cipher(keys)
