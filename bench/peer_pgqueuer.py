"""The peer queue: pgqueuer running no-op jobs on the same PostgreSQL database.

``python -m bench.peer_pgqueuer URL JOBS`` installs pgqueuer's tables (its own names, beside
Credira's), enqueues JOBS no-op jobs in batches, then runs one QueueManager with pgqueuer's
defaults (batch_size 10, unlimited concurrency) in drain mode, and prints JSON with the time
each job was dispatched. Claims/s is counted like Credira's: jobs over the time from the first
dispatch to the last.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import asyncpg
from pgqueuer import Queries, QueueManager
from pgqueuer.domain.types import QueueExecutionMode
from pgqueuer.models import Job


async def main_async(url: str, jobs: int, batch_size: int) -> dict[str, object]:
    setup = await asyncpg.connect(url)
    try:
        queries = Queries.from_asyncpg_connection(setup)
        if not await queries.schema_is_installed():
            await queries.install()
        for start in range(0, jobs, 10_000):
            n = min(10_000, jobs - start)
            await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
    finally:
        await setup.close()

    dispatched: list[float] = []
    conn = await asyncpg.connect(url)
    qm = QueueManager(Queries.from_asyncpg_connection(conn))

    @qm.entrypoint("noop")
    async def noop(job: Job) -> None:
        dispatched.append(time.time())

    began = time.time()
    await qm.run(batch_size=batch_size, mode=QueueExecutionMode.drain)
    ended = time.time()
    return {
        "jobs": jobs,
        "batch_size": batch_size,
        "started": began,
        "ended": ended,
        "dispatched": dispatched,
    }


def main() -> None:
    url, jobs = sys.argv[1], int(sys.argv[2])
    batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    result = asyncio.run(main_async(url, jobs, batch_size))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
