"""The daily cost caps' counter itself: exact under concurrency, after a lowered cap, and when
a transaction that counted rolls back. (How the worker and the dispatcher use it is in
``test_daily_caps``.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credira.caps import repository
from credira.models import Account
from tests.worker.harness import Db, open_db

DAY = datetime(2024, 3, 5, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str, tmp_path: Any) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


@pytest.fixture
async def account(db: Db) -> str:
    row = Account(id="acc_counter", name="Acme", settings={}, created_time=DAY)
    await db.add(row)
    return row.id


async def take(db: Db, account: str, cap: int, *, hold: float = 0.0, commit: bool = True) -> bool:
    """One taker in a transaction of its own, holding its count ``hold`` seconds before it
    commits (or rolls back), as a worker does between the count and its commit."""
    async with db.sessions() as session:
        taken = await repository.take(session, account, repository.CALL, DAY, cap)
        await asyncio.sleep(hold)
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return taken


async def used(db: Db, account: str) -> int:
    async with db.reads() as session:
        return await repository.used(session, account, repository.CALL, DAY)


async def test_concurrent_takers_count_exactly_up_to_the_cap(db: Db, account: str) -> None:
    await take(db, account, 13)  # the day's counter exists, as after the first call of a day

    results = await asyncio.gather(*(take(db, account, 13, hold=0.02) for _ in range(30)))

    assert sum(results) == 12
    assert await used(db, account) == 13
    assert not await take(db, account, 13)


async def test_a_lowered_cap_allows_only_what_is_left_of_it(db: Db, account: str) -> None:
    for _ in range(20):
        assert await take(db, account, 40)

    results = await asyncio.gather(*(take(db, account, 23, hold=0.01) for _ in range(8)))

    assert sum(results) == 3
    assert await used(db, account) == 23
    assert not await take(db, account, 23)
    assert await take(db, account, 24)  # raised again: room for one more


async def test_a_rolled_back_count_is_given_back(db: Db, account: str) -> None:
    assert await take(db, account, 2)
    assert await take(db, account, 2, commit=False)
    assert await used(db, account) == 1

    assert await take(db, account, 2)
    assert not await take(db, account, 2)


async def test_each_day_has_its_own_count(db: Db, account: str) -> None:
    assert await take(db, account, 1)
    assert not await take(db, account, 1)
    async with db.sessions() as session:
        next_day = DAY + timedelta(days=1)
        assert await repository.take(session, account, repository.CALL, next_day, 1)
        await session.commit()


async def take_up_to(db: Db, account: str, cap: int, wanted: int, *, hold: float = 0.0) -> int:
    """A taker of several, as a worker deciding a batch of callouts: each transaction holds what
    it counted a moment; an undecided rest is asked for again in a new one, until all are
    counted or the cap is reached. How many were counted."""
    counted = 0
    while counted < wanted:
        async with db.sessions() as session:
            more, capped = await repository.take_up_to(
                session, account, repository.CALL, DAY, cap, wanted - counted
            )
            await asyncio.sleep(hold)
            await session.commit()
        counted += more
        if capped:
            break
        assert more > 0, "a taker that holds nothing waits for a verdict"
    return counted


async def test_takers_of_several_at_once_count_exactly_up_to_the_cap(db: Db, account: str) -> None:
    await take(db, account, 100)

    counts = await asyncio.gather(
        *(take_up_to(db, account, 100, wanted, hold=0.02) for wanted in (40, 7, 25, 1, 30, 12)),
        *(take(db, account, 100, hold=0.02) for _ in range(5)),
    )

    # 115 asked for, 99 left under the cap: each counted what it was told it counted.
    assert sum(counts) == 99
    assert await used(db, account) == 100
    assert await take_up_to(db, account, 100, 3) == 0
    assert await take_up_to(db, account, 103, 5) == 3  # raised: room for three more


async def test_a_taker_of_several_under_a_lowered_cap_gets_what_is_left(
    db: Db, account: str
) -> None:
    assert await take_up_to(db, account, 40, 20) == 20

    assert await take_up_to(db, account, 23, 10) == 3
    assert await used(db, account) == 23
