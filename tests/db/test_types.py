"""The shared column types on both backends: UTC instants and exact money."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from credira.db.types import Money, UTCDateTime

metadata = MetaData()
samples = Table(
    "type_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=True),
    Column("amount", Money(), nullable=True),
)


@pytest.fixture
async def engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    db = create_async_engine(empty_url)
    async with db.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Asia/Kolkata", "Pacific/Chatham", "UTC"],
)
async def test_aware_time_comes_back_equal_and_in_utc(engine: AsyncEngine, zone: str) -> None:
    sent = datetime(2024, 3, 10, 1, 59, 30, 123456, tzinfo=ZoneInfo(zone))
    async with engine.begin() as conn:
        await conn.execute(insert(samples).values(id=1, at=sent))
    async with engine.connect() as conn:
        got = (await conn.execute(select(samples.c.at))).scalar_one()

    assert got == sent
    assert got.utcoffset() == timedelta(0)
    assert got.tzinfo is not None
    assert got.replace(tzinfo=None) == sent.astimezone(UTC).replace(tzinfo=None)


async def test_times_compare_as_instants_across_zones(engine: AsyncEngine) -> None:
    early = datetime(2024, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 08:00Z
    late = datetime(2024, 1, 1, 4, 0, tzinfo=ZoneInfo("America/New_York"))  # 09:00Z
    async with engine.begin() as conn:
        await conn.execute(insert(samples), [{"id": 1, "at": late}, {"id": 2, "at": early}])
    async with engine.connect() as conn:
        rows = (await conn.execute(select(samples.c.id).order_by(samples.c.at))).scalars().all()
        after = (
            await conn.execute(
                select(samples.c.id).where(samples.c.at > datetime(2024, 1, 1, 8, 30, tzinfo=UTC))
            )
        ).scalars()
        assert list(after) == [1]
    assert list(rows) == [2, 1]


async def test_naive_time_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with engine.begin() as conn:
            await conn.execute(insert(samples).values(id=1, at=datetime(2024, 1, 1, 12, 0)))
    async with engine.connect() as conn:
        assert (await conn.execute(select(samples.c.id))).all() == []


@pytest.mark.parametrize(
    "amount",
    ["12345678901.2345", "0.0001", "-42.5", "0", "922337203685477.5807"],
)
async def test_money_round_trips_exactly(engine: AsyncEngine, amount: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(samples).values(id=1, amount=Decimal(amount)))
    async with engine.connect() as conn:
        got = (await conn.execute(select(samples.c.amount))).scalar_one()

    assert isinstance(got, Decimal)
    assert got == Decimal(amount)
    assert str(got.normalize()) == str(Decimal(amount).normalize())


async def test_money_with_more_than_four_places_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(StatementError, match="decimal places"):
        async with engine.begin() as conn:
            await conn.execute(insert(samples).values(id=1, amount=Decimal("1.00001")))


async def test_money_sorts_by_amount(engine: AsyncEngine) -> None:
    amounts = ["100", "9.99", "10.00", "-1.5", "0.0001", "12345678901.2345", "10.0001"]
    async with engine.begin() as conn:
        await conn.execute(
            insert(samples), [{"id": i, "amount": Decimal(a)} for i, a in enumerate(amounts)]
        )
    async with engine.connect() as conn:
        got = (await conn.execute(select(samples.c.amount).order_by(samples.c.amount))).scalars()
        ordered = list(got)

    assert ordered == sorted(Decimal(a) for a in amounts)
