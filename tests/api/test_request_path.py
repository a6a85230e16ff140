"""The request path under concurrency, and the pieces it is built from: ids, the in-memory
rate-limit window and the usage stamps of keys."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from limits import parse

from credira.app import create_app
from credira.auth.service import TOUCH_EVERY, UsageStamps
from credira.config import Settings
from credira.kit.ids import new_id, new_token
from credira.ratelimit.window import SWEEP_EVERY_SECONDS, MemoryMovingWindow
from tests.support import Api

CONCURRENT = 24  # more than the connection pool holds on either backend (see below)


@pytest.fixture
async def small_pool_app(settings: Settings) -> AsyncIterator[FastAPI]:
    # PostgreSQL: 2 connections and 2 more of overflow; SQLite: the driver's default of 15.
    app = create_app(settings.model_copy(update={"db_pool_size": 2}))
    async with app.router.lifespan_context(app):
        yield app


async def test_a_burst_of_first_requests_of_a_new_key_is_served_at_once(
    small_pool_app: FastAPI,
) -> None:
    """Each first use of a key is due its usage stamp; a burst of them larger than the pool
    must neither wait for the pool's 30 s timeout nor fail."""
    transport = httpx.ASGITransport(app=small_pool_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        tenant = await Api(client).tenant()
        async with asyncio.timeout(20):
            replies = await asyncio.gather(
                *(tenant.request("GET", f"/v1/users/{tenant.user_id}") for _ in range(CONCURRENT))
            )
        assert [r.status_code for r in replies] == [200] * CONCURRENT
        stamped = (await tenant.ok("GET", f"/v1/users/{tenant.user_id}"))["data"]
    assert stamped["last_login"] is not None


def test_ids_are_well_formed_distinct_and_ordered_by_creation() -> None:
    ids = [new_id("callout") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert value.startswith("callout_")
        token = value.removeprefix("callout_")
        assert len(token) == 26
        assert set(token) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    # The first 10 characters are the milliseconds: never decreasing.
    stamps = [value.removeprefix("callout_")[:10] for value in ids]
    assert stamps == sorted(stamps)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_does_not_repeat_its_parents_ids() -> None:
    new_token()  # the parent holds drawn randomness
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.write(write, new_token()[10:].encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 16
    assert child != new_token()[10:]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_window_admits_the_limit_then_frees_one_as_the_oldest_leaves() -> None:
    clock = FakeTime()
    window = MemoryMovingWindow(clock)
    item = parse("3/10 seconds")
    for _ in range(3):
        assert await window.hit(item, "key", "a")
        clock.now += 1
    # 3 taken at t0, t0+1 and t0+2; now t0+3.
    assert not await window.hit(item, "key", "a")
    stats = await window.get_window_stats(item, "key", "a")
    assert (stats.remaining, stats.reset_time) == (0, 1_000_000.0 + 10)
    assert await window.hit(item, "key", "b")  # another identity has its own window
    clock.now = 1_000_000.0 + 10.5  # the first entry left
    assert await window.hit(item, "key", "a")
    assert not await window.hit(item, "key", "a")
    stats = await window.get_window_stats(item, "key", "a")
    assert (stats.remaining, stats.reset_time) == (0, 1_000_001.0 + 10)


async def test_memory_window_refuses_a_cost_beyond_what_is_left() -> None:
    window = MemoryMovingWindow(FakeTime())
    item = parse("5/minute")
    assert not await window.hit(item, "k", cost=6)
    assert await window.hit(item, "k", cost=4)
    assert not await window.hit(item, "k", cost=2)
    assert await window.hit(item, "k", cost=1)
    assert (await window.get_window_stats(item, "k")).remaining == 0


async def test_memory_window_forgets_windows_left_idle() -> None:
    clock = FakeTime()
    window = MemoryMovingWindow(clock)
    short, long = parse("1/second"), parse("1/hour")
    assert await window.hit(short, "a")
    assert await window.hit(long, "b")
    assert len(window) == 2
    clock.now += SWEEP_EVERY_SECONDS
    assert await window.hit(short, "c")  # the sweep runs on the way
    assert len(window) == 2  # "a" expired and went; "b" is still counting
    assert not await window.hit(long, "b")


def test_usage_stamps_let_one_request_per_key_stamp_per_interval() -> None:
    stamps = UsageStamps(limit=2)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert stamps.claim("key_a", now)
    assert not stamps.claim("key_a", now + timedelta(seconds=1))
    assert stamps.claim("key_a", now + TOUCH_EVERY + timedelta(seconds=1))
    stamps.release("key_a")
    assert stamps.claim("key_a", now + TOUCH_EVERY + timedelta(seconds=2))
    # Bounded: full of fresh entries it starts over rather than grow.
    assert stamps.claim("key_b", now + TOUCH_EVERY + timedelta(seconds=2))
    assert stamps.claim("key_c", now + TOUCH_EVERY + timedelta(seconds=2))
    assert not stamps.claim("key_c", now + TOUCH_EVERY + timedelta(seconds=3))
