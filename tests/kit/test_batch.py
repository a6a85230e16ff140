"""Group commit: concurrent submitters share batches, and each gets its own result."""

from __future__ import annotations

import asyncio

import pytest

from credira.kit.batch import GroupCommit


class Recorder:
    """A batch handler that records its batches; items named "bad" fail any batch they are in,
    and each batch takes a moment, as a transaction does."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def handle(self, batch: list[str]) -> list[str]:
        self.batches.append(list(batch))
        await self.release.wait()
        await asyncio.sleep(0.01)
        if "bad" in batch:
            raise ValueError("a bad item")
        return [item.upper() for item in batch]


async def held_batch(item: str) -> tuple[Recorder, GroupCommit[str, str], asyncio.Future[str]]:
    """A group whose first batch, of ``item``, has started and waits for ``release``."""
    recorder = Recorder()
    recorder.release.clear()
    group = GroupCommit(recorder.handle)
    submitted = asyncio.ensure_future(group.submit(item))
    await asyncio.sleep(0.01)
    return recorder, group, submitted


async def test_concurrent_submitters_share_one_batch_and_each_gets_its_result() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.handle)

    results = await asyncio.gather(*(group.submit(f"item{i}") for i in range(5)))

    assert results == [f"ITEM{i}" for i in range(5)]
    assert recorder.batches == [[f"item{i}" for i in range(5)]]


async def test_a_lone_submitter_is_handled_at_once() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.handle)

    assert await group.submit("one") == "ONE"
    assert await group.submit("two") == "TWO"
    assert recorder.batches == [["one"], ["two"]]


async def test_items_handed_in_during_a_batch_go_together_into_the_next() -> None:
    recorder, group, first = await held_batch("first")
    later = [asyncio.ensure_future(group.submit(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0.01)
    recorder.release.set()

    assert await first == "FIRST"
    assert await asyncio.gather(*later) == ["A", "B", "C"]
    assert recorder.batches == [["first"], ["a", "b", "c"]]


async def test_batches_are_at_most_max_size() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.handle, max_size=2)

    await asyncio.gather(*(group.submit(name) for name in "abcde"))

    assert recorder.batches == [["a", "b"], ["c", "d"], ["e"]]


async def test_items_with_one_key_never_share_a_batch() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.handle, key=lambda item: item[0])

    results = await asyncio.gather(*(group.submit(n) for n in ("x1", "y1", "x2", "x3", "y2")))

    assert results == ["X1", "Y1", "X2", "X3", "Y2"]
    # Each later one waits for the next batch, in the order handed in.
    assert recorder.batches == [["x1", "y1"], ["x2", "y2"], ["x3"]]


async def test_an_item_that_fails_its_batch_fails_alone() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.handle)

    results = await asyncio.gather(
        *(group.submit(name) for name in ("a", "bad", "c")), return_exceptions=True
    )

    assert results[0] == "A"
    assert isinstance(results[1], ValueError)
    assert results[2] == "C"
    assert recorder.batches == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]


async def test_a_submitter_cancelled_before_its_batch_is_left_out() -> None:
    recorder, group, first = await held_batch("first")
    gone = asyncio.ensure_future(group.submit("gone"))
    kept = asyncio.ensure_future(group.submit("kept"))
    await asyncio.sleep(0.01)
    gone.cancel()
    recorder.release.set()

    assert await first == "FIRST"
    assert await kept == "KEPT"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert recorder.batches == [["first"], ["kept"]]


async def test_close_lets_the_running_batch_finish() -> None:
    recorder, group, submitted = await held_batch("last")
    asyncio.get_running_loop().call_later(0.02, recorder.release.set)

    await group.close(within=5)

    assert submitted.done()
    assert submitted.result() == "LAST"


async def test_close_cancels_a_batch_that_outlasts_the_timeout() -> None:
    _, group, submitted = await held_batch("stuck")

    await group.close(within=0.05)

    with pytest.raises(asyncio.CancelledError):
        await submitted


async def test_a_handler_that_loses_results_fails_its_submitters() -> None:
    async def handle(batch: list[str]) -> list[str]:
        return batch[1:]  # one result short

    group = GroupCommit(handle)

    results = await asyncio.gather(*(group.submit(n) for n in "ab"), return_exceptions=True)

    assert all(isinstance(r, RuntimeError) for r in results), results
