"""Classifying answered calls' transcripts, in the worker process or in processes of its own.

Classification is CPU work (keyphrases, sentiment, the cues of a promise or a dispute: about
0.7 ms for the usual few lines). In the worker process it competes for the one core the event
loop can use with everything else a callout costs, about a third of that in the worker
benchmark. ``Classifier(processes=n)`` hands it to ``n`` processes of its own instead, so that
a worker uses a second core; transcripts ended at the same moment go to them together (one
message each way per batch, not per call).

A process that dies (killed, out of memory) costs nothing: its batch is classified in the
worker process, and the next batch starts new processes. Processes that cannot start at all
(the worker embedded in a program the spawned processes cannot import again, say) are not
tried again: the worker process classifies everything from then on.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from credira.kit.batch import GroupCommit
from credira.transcript import Analysis, analyze, parse_transcript

log = structlog.get_logger("credira.worker")

# Transcripts up to this long are classified on the event loop when there are no processes
# (well under a millisecond for the usual few lines); longer ones in a thread, so that a long
# call's classification does not hold up the other calls being followed.
INLINE_CHARS = 2_000
PARENT_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Transcript:
    text: str
    ended_at: datetime
    zone: str  # the debtor's time zone (its key: it crosses to another process)


def _exit_with(parent: int) -> None:
    """A classifier process's initializer: the process exits soon after the worker that
    started it, however that one ended (SIGKILL, out of memory), instead of living on."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="credira-parent-watch", daemon=True).start()


def classify_all(batch: list[Transcript]) -> list[Analysis]:
    """Runs in a classifier process (or in the worker's, as the fallback)."""
    return [
        analyze(parse_transcript(t.text), ended_at=t.ended_at, debtor_zone=ZoneInfo(t.zone))
        for t in batch
    ]


class Classifier:
    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._pool_worked = False  # whether the current pool has classified a batch
        self._batches = GroupCommit(self._classify_many) if processes > 0 else None

    async def classify(self, transcript: str, *, ended_at: datetime, zone: ZoneInfo) -> Analysis:
        """The analysis of an answered call's transcript."""
        if self._batches is not None and self.processes > 0:
            return await self._batches.submit(Transcript(transcript, ended_at, zone.key))
        turns = parse_transcript(transcript)
        # Handing a short transcript to a thread costs more than classifying it: the thread
        # and the event loop take turns with the GIL (in the worker benchmark, 1.2 ms more CPU
        # per callout than the classification itself).
        if len(transcript) <= INLINE_CHARS:
            return analyze(turns, ended_at=ended_at, debtor_zone=zone)
        return await asyncio.to_thread(analyze, turns, ended_at=ended_at, debtor_zone=zone)

    async def _classify_many(self, batch: list[Transcript]) -> list[Analysis]:
        """A batch split evenly between the processes."""
        if self.processes <= 0:
            # They were given up while this batch waited for the one that found out.
            return await asyncio.to_thread(classify_all, batch)
        loop = asyncio.get_running_loop()
        if self._pool is None:
            # Spawned, not forked: the worker process has threads (database drivers, the
            # event loop's executor), and a fork copies whatever locks they held.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
            self._pool_worked = False
        pool = self._pool
        size = -(-len(batch) // self.processes)
        parts = [batch[i : i + size] for i in range(0, len(batch), size)]
        try:
            done = await asyncio.gather(
                *(loop.run_in_executor(pool, classify_all, part) for part in parts)
            )
        except (BrokenProcessPool, OSError) as exc:
            if self._pool is pool:
                self._pool = None
                if not self._pool_worked:
                    self.processes = 0  # they never worked: do not start them again
                log.warning(
                    "worker.classifier_lost", error=str(exc)[:300], retry=self.processes > 0
                )
            pool.shutdown(wait=False, cancel_futures=True)
            return await asyncio.to_thread(classify_all, batch)
        self._pool_worked = True
        return [analysis for part in done for analysis in part]

    async def close(self, within: float = 10.0) -> None:
        if self._batches is not None:
            await self._batches.close(within)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
