"""Writing many due callouts straight into a database, for worker tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from credira.db.engine import create_sessionmaker
from credira.kit.ids import new_id
from credira.models import Account, Call, Callout, Invoice, SimulatedCall, VoiceAgent


async def seed_due_callouts(url: str, count: int, *, zone: str, digits: str = "00") -> str:
    """One account, one agent, ``count`` invoices each with one callout due now."""
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine)() as session:
            account = Account(id=new_id("account"), name="Load Co", settings={}, created_time=now)
            agent = VoiceAgent(
                id=new_id("agent"),
                account_id=account.id,
                name="Ava",
                provider="simulator",
                voice="default",
                language="en-US",
                from_number=None,
                script="Hello {{customer_name}}, about invoice {{invoice_number}}.",
                max_duration=600,
                status="active",
                metadata_={},
                created_time=now,
                updated_time=now,
            )
            session.add_all([account, agent])
            await session.flush()
            callouts = []
            for n in range(count):
                invoice = Invoice(
                    id=new_id("invoice"),
                    account_id=account.id,
                    number=f"INV-{n:06d}",
                    amount=Decimal("100.00"),
                    currency="USD",
                    due_date=date(2024, 1, 30),
                    status="open",
                    customer_name=f"Debtor {n}",
                    customer_phone=f"+1415{n:05d}{digits}",
                    customer_timezone=zone,
                    metadata_={},
                    created_time=now,
                    updated_time=now,
                )
                callout = Callout(
                    id=new_id("callout"),
                    account_id=account.id,
                    invoice_id=invoice.id,
                    status="scheduled",
                    type="payment_reminder",
                    priority="medium",
                    priority_rank=2,
                    scheduled_time=now,
                    run_at=now,
                    contact_name=invoice.customer_name,
                    contact_phone=invoice.customer_phone,
                    calls_enabled=True,
                    emails_enabled=False,
                    voice_agent_id=agent.id,
                    metadata_={},
                    attempt_count=0,
                    origin="api",
                    consented=False,
                    created_time=now,
                    updated_time=now,
                )
                session.add(invoice)
                callouts.append(callout)
            await session.flush()
            session.add_all(callouts)
            await session.commit()
            return account.id
    finally:
        await engine.dispose()


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
