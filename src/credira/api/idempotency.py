"""``Idempotency-Key`` on POST, after Stripe's design.

The first request with a key runs and its 2xx reply is stored in the same transaction as its
effect. A retry with the same key and the same body gets the stored status and body back
(``Idempotent-Replayed: true``); the same key with another body is ``CONFLICT``. Errors are not
stored, so a corrected retry may reuse the key. Two concurrent first requests race on the
primary key; the loser's transaction (effect included) rolls back and it replays the winner.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

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
    key: str
    method: str
    path: str
    request_hash: str


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
    return intent


async def check_stored(session: AsyncSession, intent: IdempotencyIntent) -> None:
    """Replay a stored reply for this key, or refuse a key reused with another request."""
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == intent.scope, IdempotencyRecord.key == intent.key
        )
    )
    if record is None:
        return
    if record.request_hash != intent.request_hash:
        raise Conflict("Idempotency-Key was already used with a different request")
    raise IdempotentReplay(record.status_code, record.response_body)


def record(
    intent: IdempotencyIntent, status_code: int, body: bytes, now: object
) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=intent.scope,
        key=intent.key,
        method=intent.method,
        path=intent.path,
        request_hash=intent.request_hash,
        status_code=status_code,
        response_body=body,
        created_time=now,
    )


async def purge_expired(session: AsyncSession, before: object) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_time < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
