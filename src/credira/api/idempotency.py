"""``Idempotency-Key`` on POST, after Stripe's design.

The first request with a key claims it (a placeholder row, flushed before any effect) and its
2xx reply replaces the placeholder in the same transaction as its effect. A retry with the same
key and the same body gets the stored status and body back (``Idempotent-Replayed: true``); the
same key with another body is ``CONFLICT``. Errors are not stored (the claim rolls back with
the request), so a corrected retry may reuse the key.

Claiming before the effect serialises two concurrent first requests on the key's primary key:
the second waits for the first to finish, then replays its reply. Racing only at commit would let
both effects run, and a unique constraint on the effect (an invoice number, a user's email) would
fail the loser with an unrelated ``CONFLICT`` before it ever reached the key.

A reply that carries a secret (the new API key of ``POST /users`` and ``rotate-key``) is
stored with the secret removed: keys exist only as hashes, so a replay says that the key was
shown once and must be rotated if it was lost. Keys are stored under their hash too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from credira.api import idempotency_repository as repository
from credira.errors import Conflict, InvalidRequest
from credira.models import IdempotencyRecord

KEY_MAX = 255
RETENTION = timedelta(hours=24)


class IdempotentReplay(Exception):
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class IdempotencyIntent:
    scope: str
    # The client's key, in memory only; rows are stored under ``stored_key``.
    key: str = field(repr=False)
    method: str
    path: str
    request_hash: str

    @property
    def stored_key(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()


def _fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def begin(session: AsyncSession, scope: str, request: Request) -> IdempotencyIntent | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise InvalidRequest(f"Idempotency-Key must be 1 to {KEY_MAX} printable characters")
    body = await request.body()
    intent = IdempotencyIntent(
        scope,
        key,
        request.method,
        request.url.path,
        _fingerprint(request.method, request.url.path, body),
    )
    await check_stored(session, intent)
    await _claim(session, intent)
    return intent


async def _claim(session: AsyncSession, intent: IdempotencyIntent) -> None:
    """Insert the key's placeholder row now, so a concurrent twin blocks on it, not later."""
    for _attempt in range(2):
        # Overwritten by ``store`` with the request clock's time; never committed as is.
        placeholder = record(intent, 0, b"", datetime.now(UTC))
        session.add(placeholder)
        try:
            await session.flush()
        except IntegrityError:
            # A concurrent request with the same key committed first: replay it (or refuse).
            await session.rollback()
            await check_stored(session, intent)
            continue
        return
    raise Conflict("Idempotency-Key is in use by a concurrent request; retry")


async def check_stored(session: AsyncSession, intent: IdempotencyIntent) -> None:
    """Replay a stored reply for this key, or refuse a key reused with another request."""
    record = await repository.get(session, intent.scope, intent.stored_key)
    if record is None:
        return
    if record.request_hash != intent.request_hash:
        raise Conflict("Idempotency-Key was already used with a different request")
    raise IdempotentReplay(record.status_code, record.response_body)


async def store(
    session: AsyncSession, intent: IdempotencyIntent, status_code: int, body: bytes, now: datetime
) -> None:
    """Fill the claimed row with the reply, in the transaction that carries the effect."""
    row = await session.get(IdempotencyRecord, (intent.scope, intent.stored_key))
    if row is None:
        session.add(record(intent, status_code, body, now))
        return
    row.status_code = status_code
    row.response_body = body
    row.created_time = now


def record(
    intent: IdempotencyIntent, status_code: int, body: bytes, now: datetime
) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=intent.scope,
        key=intent.stored_key,
        method=intent.method,
        path=intent.path,
        request_hash=intent.request_hash,
        status_code=status_code,
        response_body=body,
        created_time=now,
    )
