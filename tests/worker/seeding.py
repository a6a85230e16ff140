"""Writing many due callouts straight into a database for worker tests, and counting what
became of them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from credira.callout.state import CalloutStatus
from credira.db.engine import create_sessionmaker
from credira.models import Call, Callout, SimulatedCall
from tests import factories


async def seed_due_callouts(url: str, count: int, *, zone: str, digits: str = "00") -> str:
    """One account, one agent, ``count`` invoices each with one callout due now (written in
    bulk: the callouts have no events)."""
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine)() as session:
            account = factories.account(now, name="Load Co")
            agent = factories.agent(account.id, now)
            account_id, agent_id = account.id, agent.id
            session.add_all([account, agent])
            await session.commit()
    finally:
        await engine.dispose()
    invoices = [factories.invoice_row(account_id, n, zone, digits, now) for n in range(count)]
    callouts = [
        factories.callout_row(invoice, agent_id, status=CalloutStatus.SCHEDULED, scheduled=now)
        for invoice in invoices
    ]
    await factories.write_async(url, factories.invoice_callout_batches(url, [(invoices, callouts)]))
    return account_id


async def tally(url: str) -> dict[str, int]:
    """What happened, counted by the database and by the simulator's own records."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            async def count(query: object) -> int:
                return int((await conn.execute(query)).scalar() or 0)  # type: ignore[call-overload]

            statuses = (
                await conn.execute(select(Callout.status, func.count()).group_by(Callout.status))
            ).all()
            result = {f"callouts_{s}": int(n) for s, n in statuses}
            result["calls"] = await count(select(func.count()).select_from(Call))
            result["placed"] = await count(
                select(func.count()).select_from(Call).where(Call.placed_time.is_not(None))
            )
            result["simulated"] = await count(select(func.count()).select_from(SimulatedCall))
            result["callouts_with_two_calls"] = await count(
                select(func.count()).select_from(
                    select(Call.callout_id)
                    .group_by(Call.callout_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            return result
    finally:
        await engine.dispose()
