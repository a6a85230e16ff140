"""Group commit: many concurrent tasks each hand in one item and await its result, and the items
are handled together, one batch (one transaction) at a time.

While a batch is being handled, the items handed in meanwhile wait and go together into the
next one: with one task waiting the batch is that one item (no added latency), with a hundred
the cost of a transaction is shared a hundred ways. This is how databases commit their logs
(PostgreSQL's ``commit_delay``, InnoDB's group commit) and how job queues acknowledge jobs.

A batch that fails is handled again one item at a time, so that one bad item fails alone and
the others still succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_size: int = 100,
        key: Callable[[T], Hashable] | None = None,
    ) -> None:
        """``handle`` takes a batch and returns one result per item, in order. Items with equal
        ``key`` never share a batch: the later one waits for the next (for work whose items
        must see each other's committed effects)."""
        self._handle = handle
        self._max_size = max_size
        self._key = key
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if self._flusher is not None and self._flusher.get_loop() is not loop:
            # The last flusher's event loop was closed under it (as test runs do): what it
            # left belongs to that loop.
            self._flusher = None
            self._waiting = [(i, f) for i, f in self._waiting if f.get_loop() is loop]
        self._waiting.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # A submitter cancelled before its batch starts is left out of it; once the batch
        # runs, its item is handled (and committed) all the same.
        return await future

    async def close(self, within: float) -> None:
        """Let the batch being handled finish (within ``within`` seconds, else cancel it)."""
        flusher = self._flusher
        if flusher is None or flusher.done():
            return
        done, _ = await asyncio.wait([flusher], timeout=within)
        if not done:
            flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # the tasks made ready with this one hand theirs in too
            while self._waiting:
                batch = self._next_batch()
                if batch:
                    await self._run(batch)
        except BaseException:
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            raise

    def _next_batch(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        later: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        for position, (item, future) in enumerate(self._waiting):
            if len(batch) == self._max_size:
                later.extend(self._waiting[position:])
                break
            if future.done():  # its submitter was cancelled
                continue
            if self._key is not None:
                key = self._key(item)
                if key in keys:
                    later.append((item, future))
                    continue
                keys.add(key)
            batch.append((item, future))
        self._waiting = later
        return batch

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._handle([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            for pair in batch:  # one at a time: whichever item failed the batch fails alone
                if not pair[1].done():
                    await self._run([pair])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
