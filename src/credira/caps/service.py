"""Cost guards (OWASP API4, unrestricted resource consumption): per-account daily caps on
calls placed and emails sent, the two things that cost money per unit.

Each account has a count per UTC day of calls and one of emails (``daily_usage``), taken
right before a call is dialled or an email first handed to the mail server, with a
conditional ``UPDATE`` that concurrent workers cannot overshoot (see the repository). A day's
count starts from the calls and emails already recorded that day. Past a cap the outreach waits
for the next UTC midnight: a callout shows ``hold_reason`` ``daily_call_cap`` or
``daily_email_cap``, an email stays ``scheduled`` with that ``status_reason``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from credira.account.settings import OutreachSettings
from credira.caps import repository
from credira.models import Account, Email

log = structlog.get_logger("credira.caps")

DAILY_CALL_CAP = "daily_call_cap"
DAILY_EMAIL_CAP = "daily_email_cap"


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s UTC day."""
    return datetime.combine(now.astimezone(UTC).date(), time.min, UTC)


def next_day_start(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)


async def calls_allowed(
    session: AsyncSession, account_id: str, now: datetime, wanted: int
) -> tuple[int, bool]:
    """How many of ``wanted`` more calls the account may place now under its daily call cap
    (counted), and whether the others must wait for ``next_day_start(now)``: if not, they are
    undecided (the count's stripes were busy) and may be asked for again at once.

    Call it last, just before the call attempts are written, and commit promptly: the count
    stays held until the caller's transaction ends (a rollback takes it back).
    """
    cap = (await _settings(session, account_id)).daily_call_cap
    allowed, capped = await repository.take_up_to(
        session, account_id, repository.CALL, day_start(now), cap, wanted
    )
    if capped:
        log.info("caps.daily_call_cap", account_id=account_id, cap=cap)
    return allowed, capped


async def email_cap_hold(
    session: AsyncSession, account_id: str, email_id: str, now: datetime
) -> datetime | None:
    """When the account may send ``email_id``, if its daily email cap is reached; else None,
    and the email is counted, unless it was sent before: a retried email was counted when it
    was first sent, and it is held only while the account's other emails today reach the cap.

    Call it last and commit promptly, like ``calls_allowed``.
    """
    cap = (await _settings(session, account_id)).daily_email_cap
    since = day_start(now)
    email = await session.get(Email, email_id)
    first_sent = email.sent_time if email is not None else None
    if first_sent is None:
        if await repository.take(session, account_id, repository.EMAIL, since, cap):
            return None
        log.info("caps.daily_email_cap", account_id=account_id, cap=cap)
        return next_day_start(now)
    others = await repository.used(session, account_id, repository.EMAIL, since)
    if first_sent >= since:
        others -= 1  # itself, counted when it was first sent today
    if others < cap:
        return None
    log.info("caps.daily_email_cap", account_id=account_id, sent=others, cap=cap)
    return next_day_start(now)


async def _settings(session: AsyncSession, account_id: str) -> OutreachSettings:
    account = await session.get(Account, account_id)
    return OutreachSettings.from_json(account.settings if account else None)
