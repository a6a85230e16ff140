"""What the gauges read at a scrape: callouts by status, the due and held ones, and how late
the most overdue one is. Each count reads an index (``ix_callouts_due`` for scheduled ones),
the same from every process, so these are the whole deployment's, not one process's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.state import CalloutStatus
from credira.models import Callout

SCHEDULED = CalloutStatus.SCHEDULED.value


@dataclass(frozen=True)
class CalloutGauges:
    by_status: dict[str, int]
    due: int  # scheduled, run_at passed, no rule holding it
    held: int  # scheduled, held by a rule or waiting for a retry (hold_reason set)
    oldest_due: datetime | None  # run_at of the most overdue unclaimed one


async def callout_gauges(session: AsyncSession, now: datetime) -> CalloutGauges:
    by_status = {
        str(status): int(n)
        for status, n in (
            await session.execute(select(Callout.status, func.count()).group_by(Callout.status))
        ).all()
    }
    due_row = (
        await session.execute(
            select(func.count(), func.min(Callout.run_at)).where(
                Callout.status == SCHEDULED, Callout.run_at <= now
            )
        )
    ).one()
    held = await session.scalar(
        select(func.count()).where(Callout.status == SCHEDULED, Callout.hold_reason.is_not(None))
    )
    return CalloutGauges(by_status, int(due_row[0]), int(held or 0), due_row[1])
