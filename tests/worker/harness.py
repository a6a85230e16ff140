"""Driving the worker in-process against rows written straight into the database.

The executor's clock and the simulator's clock are separate on purpose: the executor can be
frozen at any instant (the rules see that instant, and it is the call's ``placed_time``)
while the simulator runs on real time, so that a call it places still ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from credira.callout.state import CalloutStatus
from credira.channel.voice.registry import VoiceProviders
from credira.channel.voice.simulator import VoiceSimulator
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.kit.clock import Clock, SystemClock
from credira.kit.ids import new_id
from credira.models import Call, Callout, SimulatedCall, Suppression
from credira.worker import repository
from credira.worker.execute import Executor
from credira.worker.runner import Worker
from tests import factories

T = TypeVar("T")


@dataclass
class Db:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]

    async def get(self, model: type[T], key: Any) -> T:
        async with self.reads() as session:
            row = await session.get(model, key)
        assert row is not None, f"no {model.__name__} {key}"
        return row

    async def calls(self, **where: Any) -> list[Call]:
        async with self.reads() as session:
            query = select(Call).filter_by(**where).order_by(Call.attempt_number)
            return list((await session.scalars(query)).all())

    async def placed_count(self) -> int:
        """How many calls the simulator itself says it placed."""
        async with self.reads() as session:
            count = await session.scalar(select(func.count()).select_from(SimulatedCall))
        return int(count or 0)

    async def edit(self, model: type[Any], key: str, **values: Any) -> None:
        async with self.sessions() as session:
            await session.execute(
                update(model)
                .where(model.id == key)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def retire_pending(self) -> None:
        """Cancel every pending callout, so that the next claim finds only new ones."""
        async with self.sessions() as session:
            await session.execute(
                update(Callout)
                .where(Callout.status.in_(("scheduled", "active")))
                .values(status="cancelled", lease_owner=None, lease_expires=None)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def add(self, *rows: Any) -> None:
        async with self.sessions() as session:
            for row in rows:
                session.add(row)
                await session.flush()
            await session.commit()


@asynccontextmanager
async def open_db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    """An engine of the test's own on the test's database (no app, no embedded worker)."""
    engine = create_engine(Settings(database_url=database_url, data_dir=tmp_path / "data"))
    try:
        yield Db(engine, create_sessionmaker(engine), create_sessionmaker(engine, write=False))
    finally:
        await engine.dispose()


# -- rows ----------------------------------------------------------------------------------


@dataclass
class Debt:
    """One account with one agent and one open invoice."""

    account_id: str
    agent_id: str
    invoice_id: str
    phone: str
    made: datetime = field(default_factory=lambda: datetime.now(UTC))

    def callout(
        self,
        *,
        run_at: datetime | None = None,
        priority: str = "medium",
        calls_enabled: bool = True,
        emails_enabled: bool = False,
        consented: bool = False,
        origin: str = "api",
        status: str = "scheduled",
        **extra: Any,
    ) -> Callout:
        when = run_at or self.made
        return factories.callout(
            self.account_id,
            self.invoice_id,
            self.agent_id,
            min(when, self.made),
            status=CalloutStatus(status),
            run_at=when,
            priority=priority,
            contact_phone=self.phone,
            calls_enabled=calls_enabled,
            emails_enabled=emails_enabled,
            origin=origin,
            consented=consented,
            **extra,
        )

    def call(
        self,
        callout_id: str,
        number: int,
        placed: datetime,
        *,
        status: str = "no_answer",
        answered: bool = False,
        outcome: str | None = None,
        end: datetime | None = None,
    ) -> Call:
        """A past call attempt, as the worker would have recorded it."""
        return Call(
            id=new_id("call"),
            account_id=self.account_id,
            invoice_id=self.invoice_id,
            callout_id=callout_id,
            attempt_id=new_id("attempt"),
            attempt_number=number,
            idempotency_key=f"{callout_id}:call:{number}",
            provider="simulator",
            voice_agent_id=self.agent_id,
            from_number=None,
            to_number=self.phone,
            timezone=None,
            status=status,
            call_type="outbound",
            call_purpose="payment_reminder",
            customer_name="John Doe",
            scheduled_time=placed,
            placed_time=placed,
            end_time=end or placed + timedelta(minutes=1),
            answered=answered,
            outcome=outcome,
            keywords=[],
            tags=[],
            metadata_={},
            created_time=placed,
            updated_time=placed,
        )

    def suppression(self, phone: str | None = None) -> Suppression:
        return Suppression(
            account_id=self.account_id,
            channel="phone",
            value=phone or self.phone,
            reason="the debtor asked not to be called again",
            source=None,
            created_time=self.made,
        )


async def new_debt(
    db: Db,
    *,
    zone: str,
    phone: str = "+14155550100",
    settings: dict[str, Any] | None = None,
    made: datetime | None = None,
) -> Debt:
    made = made or datetime.now(UTC)
    account = factories.account(made, settings=settings or {})
    agent = factories.agent(account.id, made)
    invoice = factories.invoice(account.id, made, customer_phone=phone, customer_timezone=zone)
    await db.add(account, agent, invoice)
    return Debt(account.id, agent.id, invoice.id, phone, made)


# -- running -------------------------------------------------------------------------------


def simulator(db: Db, *, time_scale: float = 0.02, clock: Clock | None = None) -> VoiceSimulator:
    return VoiceSimulator(
        db.sessions, clock or SystemClock(), read_sessionmaker=db.reads, time_scale=time_scale
    )


def executor(db: Db, clock: Clock, worker_id: str = "tester", **sim: Any) -> Executor:
    voice = VoiceProviders({"simulator": simulator(db, **sim)})
    return Executor(
        db.sessions, clock, voice, worker_id, read_sessionmaker=db.reads, poll_seconds=0.005
    )


async def run_due(
    db: Db, clock: Clock, worker_id: str = "tester", *, together: bool = False, **sim: Any
) -> list[str]:
    """Claim whatever is due at ``clock.now()`` and run it to the end, one after the other
    (``together``: all at once, as the worker does, so that decisions share batches)."""
    runner = executor(db, clock, worker_id, **sim)
    async with db.sessions() as session:
        claimed = await repository.claim_due(
            session, worker_id, clock.now(), timedelta(seconds=30), 100
        )
    if together:
        await asyncio.wait_for(asyncio.gather(*(runner.run(c) for c in claimed)), timeout=30)
    for item in [] if together else claimed:
        await asyncio.wait_for(runner.run(item), timeout=20)
    return [c.callout_id for c in claimed]


def worker(db: Db, clock: Clock | None = None, **options: Any) -> Worker:
    clock = clock or SystemClock()
    scale = options.pop("time_scale", 0.02)
    voice = VoiceProviders({"simulator": simulator(db, time_scale=scale)})
    options.setdefault("poll_seconds", 0.02)
    return Worker(db.sessions, clock, voice, read_sessionmaker=db.reads, **options)


async def until(check: Callable[[], Awaitable[T]], *, within: float = 10.0) -> T:
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.01)
    raise AssertionError(f"not reached within {within}s; last: {last!r}")


async def callout_status(db: Db, callout_id: str) -> str:
    return (await db.get(Callout, callout_id)).status
