"""The email loop's claim: emails whose worker stopped renewing the lease first, then the due
ones, urgent first, then the longest due, and only those the loop runs (sent through
``POST /send-email``, or left by a finished callout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from credira.callout.policy import PRIORITY_RANK
from credira.email import repository
from tests.email.conftest import Mailbox

LEASE = timedelta(seconds=30)


async def test_a_claim_takes_abandoned_emails_then_due_ones_in_priority_order(
    app: FastAPI, mailbox: Mailbox
) -> None:
    now = datetime.now(UTC)
    account = await mailbox.account()
    ids: dict[str, str] = {}

    async def scheduled(name: str, priority: str, overdue_minutes: int, **extra: object) -> None:
        email = await mailbox.email(
            account,
            status="scheduled",
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            run_at=now - timedelta(minutes=overdue_minutes),
            sent_time=None,
            delivered_time=None,
            **extra,
        )
        ids[name] = email.id

    await scheduled("low-old", "low", 50)
    await scheduled("medium", "medium", 40)
    await scheduled("urgent-new", "urgent", 5)
    await scheduled("high", "high", 30)
    await scheduled("urgent-old", "urgent", 20)
    await scheduled("later", "urgent", -5)  # not due yet
    await scheduled("callout-run", "urgent", 60, origin="callout")  # its callout runs it
    abandoned = await mailbox.email(
        account, status="sending", lease_owner="gone", lease_expires=now - timedelta(seconds=1)
    )

    async def claim(limit: int) -> list[str]:
        async with app.state.runtime.sessionmaker() as session:
            return await repository.claim_due(session, "w1", now, LEASE, limit)

    assert await claim(3) == [abandoned.id, ids["urgent-old"], ids["urgent-new"]]
    assert await claim(3) == [ids["high"], ids["medium"], ids["low-old"]]
    assert await claim(3) == []
    taken = await mailbox.get(ids["high"])
    assert (taken.lease_owner, taken.status, taken.run_at) == ("w1", "scheduled", now + LEASE)
