"""Verifying the webhooks Credira sends, as Standard Webhooks defines them.

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds of the attempt) and
``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` signatures over
``{id}.{timestamp}.{body}`` with the endpoint's secret (``whsec_`` + base64; while a secret is
being rotated both sign, so any one matching is enough). ``verify`` checks them against the raw
body as received, in constant time, and refuses a timestamp more than ``tolerance`` seconds
(5 minutes) away from now, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

DEFAULT_TOLERANCE = 300  # seconds, as the specification's reference libraries use
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class WebhookVerificationError(Exception):
    """The delivery is not one the secret's holder sent, or it is too old or too new."""


def _secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("the secret is not whsec_ followed by base64") from exc


def sign(msg_id: str, timestamp: int, payload: str | bytes, secret: str | bytes) -> str:
    """The ``v1,<base64>`` signature of a delivery (what a sender writes)."""
    body = payload if isinstance(payload, bytes) else payload.encode()
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    payload: str | bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """The delivery's parsed JSON body when its signature holds, else
    ``WebhookVerificationError``. ``payload`` is the body exactly as received (not re-encoded
    JSON); ``headers`` any mapping, names in any case."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("the timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("the timestamp is too new")
    expected = sign(msg_id, timestamp, payload, secret).split(",", 1)[1].encode()
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return json.loads(payload)
    raise WebhookVerificationError("no signature matches")


__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationError", "sign", "verify"]
