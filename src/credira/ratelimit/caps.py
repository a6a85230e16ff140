"""Cost guards (OWASP API4, unrestricted resource consumption): per-account daily caps on
calls placed and emails sent, the two things that cost money per unit.

Counted from the ``calls`` and ``emails`` tables for the account's current UTC day, right
before a call is dialled or an email handed to the mail server, with the account locked so
that concurrent workers cannot overshoot. Past a cap the outreach waits for the next UTC
midnight: a callout shows ``hold_reason`` ``daily_call_cap`` or ``daily_email_cap``, an email
stays ``scheduled`` with that ``status_reason``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from credira.account.settings import OutreachSettings
from credira.ratelimit import repository

log = structlog.get_logger("credira.ratelimit")

DAILY_CALL_CAP = "daily_call_cap"
DAILY_EMAIL_CAP = "daily_email_cap"


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s UTC day."""
    return datetime.combine(now.astimezone(UTC).date(), time.min, UTC)


def next_day_start(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)


async def call_cap_hold(session: AsyncSession, account_id: str, now: datetime) -> datetime | None:
    """When the account may place its next call, if its daily call cap is reached; else None.

    Locks the account until the caller's transaction ends: call it last, just before the call
    attempt is written, and commit promptly.
    """
    account = await repository.lock_account(session, account_id)
    cap = OutreachSettings.from_json(account.settings if account else None).daily_call_cap
    placed = await repository.calls_placed_since(session, account_id, day_start(now))
    if placed < cap:
        return None
    log.info("ratelimit.daily_call_cap", account_id=account_id, placed=placed, cap=cap)
    return next_day_start(now)


async def email_cap_hold(
    session: AsyncSession, account_id: str, email_id: str, now: datetime
) -> datetime | None:
    """When the account may send ``email_id``, if its daily email cap is reached; else None.

    Locks the account until the caller's transaction ends, like ``call_cap_hold``.
    """
    account = await repository.lock_account(session, account_id)
    cap = OutreachSettings.from_json(account.settings if account else None).daily_email_cap
    sent = await repository.emails_sent_since(session, account_id, day_start(now), besides=email_id)
    if sent < cap:
        return None
    log.info("ratelimit.daily_email_cap", account_id=account_id, sent=sent, cap=cap)
    return next_day_start(now)
