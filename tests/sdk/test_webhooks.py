"""``credira_sdk.webhooks.verify`` against the reference implementation of Standard Webhooks
(the ``standardwebhooks`` package): what it signs we accept, what we sign it accepts, and a
tampered body, a wrong secret or a timestamp more than 5 minutes away is refused."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from credira_sdk.webhooks import WebhookVerificationError, sign, verify

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()
BODY = json.dumps({"type": "callout.completed", "timestamp": "2026-12-08T00:00:00Z", "data": {}})


def delivery(secret: str = SECRET, *, at: float | None = None) -> dict[str, str]:
    stamp = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    signature = Webhook(secret).sign("evt_1", stamp, BODY)
    return {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signature,
    }


def test_what_the_reference_signs_is_accepted() -> None:
    assert verify(BODY, delivery(), SECRET) == json.loads(BODY)
    assert verify(BODY.encode(), delivery(), SECRET)["type"] == "callout.completed"
    upper = {k.upper(): v for k, v in delivery().items()}
    assert verify(BODY, upper, SECRET)


def test_what_we_sign_the_reference_accepts() -> None:
    now = int(time.time())
    headers = {
        "webhook-id": "evt_2",
        "webhook-timestamp": str(now),
        "webhook-signature": sign("evt_2", now, BODY, SECRET),
    }
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(BODY.replace("completed", "cancelled"), delivery(), SECRET)


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(BODY, delivery(OTHER), SECRET)


@pytest.mark.parametrize(("offset", "why"), [(-301, "too old"), (301, "too new")])
def test_a_timestamp_past_five_minutes_is_refused(offset: int, why: str) -> None:
    now = time.time()
    with pytest.raises(WebhookVerificationError, match=why):
        verify(BODY, delivery(at=now + offset), SECRET, now=now)
    assert verify(BODY, delivery(at=now - 290), SECRET, now=now)


def test_any_one_of_several_signatures_may_match() -> None:
    headers = delivery()
    rotated = delivery(OTHER)["webhook-signature"]
    headers["webhook-signature"] = f"v1a,c29tZQ== {rotated} {headers['webhook-signature']}"
    assert verify(BODY, headers, SECRET)
    assert verify(BODY, headers, OTHER)


def test_missing_headers_are_refused() -> None:
    headers = delivery()
    del headers["webhook-timestamp"]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(BODY, headers, SECRET)
