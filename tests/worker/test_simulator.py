"""The voice simulator as a provider: one call per idempotency key, however many requests for
it arrive at once and from however many simulators (processes) sharing the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from credira.channel.voice.port import CallRequest, VoiceProviderError
from credira.kit.clock import FrozenClock
from tests.worker.harness import Db, open_db, simulator


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


def request(key: str, number: str = "+14155550100") -> CallRequest:
    return CallRequest(
        idempotency_key=key,
        to_number=number,
        from_number=None,
        script="Hello John Doe.",
        language="en-US",
        voice="default",
        max_duration=600,
    )


async def test_requests_at_once_place_one_call_per_idempotency_key(db: Db) -> None:
    first, second = simulator(db, time_scale=0.01), simulator(db, time_scale=0.01)
    keys = [f"callout_{n}:call:1" for n in range(20)]
    # Every key asked for twice by one simulator and once by another, all at the same moment.
    asked = [(s, k) for k in keys for s in (first, second, first)]

    ids = await asyncio.gather(*(s.start_call(request(k)) for s, k in asked))

    by_key: dict[str, set[str]] = {}
    for (_, key), call_id in zip(asked, ids, strict=True):
        by_key.setdefault(key, set()).add(call_id)
    assert all(len(found) == 1 for found in by_key.values()), by_key
    assert len({found.pop() for found in by_key.values()}) == len(keys)
    assert await db.placed_count() == len(keys)


async def test_calls_followed_at_once_each_end_as_their_scenario_says(db: Db) -> None:
    placing = simulator(db, time_scale=0.01)
    numbers = {"+14155550101": "no_answer", "+14155550102": "busy", "+14155550100": "completed"}
    ids = await asyncio.gather(*(placing.start_call(request(n, n)) for n in numbers))
    await asyncio.sleep(0.1)  # every timeline has ended

    # Another simulator (process) never saw these calls: it reads them all from their rows.
    following = simulator(db, time_scale=0.01)
    results = await asyncio.gather(*(following.get_call(i) for i in ids))

    assert [r.status for r in results] == list(numbers.values())
    assert [r.provider_call_id for r in results] == ids
    with pytest.raises(VoiceProviderError, match="unknown call"):
        await following.get_call("sim_unknown")


async def test_each_status_says_when_the_next_one_comes(db: Db) -> None:
    # A follower wakes up when the call changes instead of polling past it.
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    clock = FrozenClock(start)
    sim = simulator(db, time_scale=1.0, clock=clock)
    call_id = await sim.start_call(request("callout_1:call:1"))

    seen: list[tuple[str, float | None]] = []
    while True:
        status = await sim.get_call(call_id)
        at = status.changes_at
        seen.append((status.status, None if at is None else (at - start).total_seconds()))
        if at is None:
            break
        assert at > clock.now()
        clock.set(at)

    # The answered timeline: ringing at 0.2 s, answered at 0.6 s, ended at 1.6 s.
    assert seen == [
        ("initiated", 0.2),
        ("ringing", 0.6),
        ("in_progress", 1.6),
        ("completed", None),
    ]
