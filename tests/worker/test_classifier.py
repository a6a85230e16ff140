"""Classifying transcripts: on the event loop, in a thread, or in processes of the worker's own,
with the same analyses every way; a classifier process that dies loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from credira.transcript import Analysis, analyze, parse_transcript
from credira.worker.classifier import INLINE_CHARS, Classifier

ENDED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")

INTRO = "Agent: Hello, this is Ava about invoice INV-1001 for 1,250.00 USD."
REPLIES = {
    "promise_to_pay": "Debtor: I can pay it next Friday, I promise.",
    "dispute": "Debtor: I never ordered this, I dispute the whole invoice.",
    "opt_out": "Debtor: Stop calling me. Do not call this number again.",
}
SHORT = {outcome: f"{INTRO}\n{reply}\nAgent: Thank you." for outcome, reply in REPLIES.items()}
# A long call: the agent talks at length before the debtor answers.
LONG = "\n".join(
    [INTRO, *["Agent: Is there anything else I can help with?"] * 40, REPLIES["dispute"]]
)


def expected(transcript: str) -> Analysis:
    return analyze(parse_transcript(transcript), ended_at=ENDED, debtor_zone=ZONE)


async def classify_each(classifier: Classifier, transcripts: list[str]) -> list[Analysis]:
    return list(
        await asyncio.gather(
            *(classifier.classify(t, ended_at=ENDED, zone=ZONE) for t in transcripts)
        )
    )


async def test_in_the_worker_process_short_and_long_transcripts_are_classified_alike() -> None:
    transcripts = [*SHORT.values(), LONG]
    assert len(LONG) > INLINE_CHARS >= max(len(t) for t in SHORT.values())
    classifier = Classifier()

    found = await classify_each(classifier, transcripts)

    assert found == [expected(t) for t in transcripts]
    assert [a.outcome for a in found] == [*SHORT, "dispute"]


async def test_classifier_processes_give_the_same_analyses() -> None:
    transcripts = [*SHORT.values(), LONG] * 5
    classifier = Classifier(processes=2)
    try:
        found = await classify_each(classifier, transcripts)
        assert classifier._pool is not None  # the processes did it, not a fallback
        assert classifier.processes == 2
    finally:
        await classifier.close()

    assert found == [expected(t) for t in transcripts]


async def test_a_classifier_process_killed_loses_no_classification() -> None:
    transcripts = list(SHORT.values())
    classifier = Classifier(processes=1)
    try:
        assert await classify_each(classifier, transcripts) == [expected(t) for t in transcripts]
        pool = classifier._pool
        assert pool is not None
        for pid in list(pool._processes):  # the one process, as the OOM killer would
            os.kill(pid, signal.SIGKILL)

        # The batch that finds it dead is classified in the worker process; the next one in a
        # new classifier process.
        assert await classify_each(classifier, transcripts) == [expected(t) for t in transcripts]
        assert await classify_each(classifier, transcripts) == [expected(t) for t in transcripts]
        assert classifier._pool is not None
        assert classifier._pool is not pool
    finally:
        await classifier.close()


def test_where_classifier_processes_cannot_start_the_worker_process_classifies() -> None:
    # A program read from stdin cannot be imported again by a spawned process: each dies at
    # once. The first batch finds out, and from then on none is tried again.
    program = f"""
import asyncio, json
from datetime import datetime
from zoneinfo import ZoneInfo
from credira.worker.classifier import Classifier

async def main():
    classifier = Classifier(processes=1)
    texts = {list(SHORT.values())!r}
    ended = datetime.fromisoformat({ENDED.isoformat()!r})
    async def later(text):
        await asyncio.sleep(0.02)  # while the first batch is out: they make the next one
        return await classifier.classify(text, ended_at=ended, zone=ZoneInfo("UTC"))

    # Overlapping, then one by one.
    together = await asyncio.gather(
        classifier.classify(texts[0], ended_at=ended, zone=ZoneInfo("UTC")),
        *(later(t) for t in texts[1:]),
    )
    outcomes = [analysis.outcome for analysis in together]
    for text in texts:
        analysis = await classifier.classify(text, ended_at=ended, zone=ZoneInfo("UTC"))
        outcomes.append(analysis.outcome)
    await classifier.close()
    print(json.dumps({{"outcomes": outcomes, "processes": classifier.processes}}))

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-"], input=program, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "outcomes": list(SHORT) * 2,
        "processes": 0,
    }
    assert (
        done.stderr.count("worker.classifier_lost") + done.stdout.count("worker.classifier_lost")
        == 1
    )


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_classifier_process_outlives_its_killed_worker_by_seconds_at_most(
    tmp_path: Path,
) -> None:
    program = tmp_path / "worker.py"
    program.write_text(
        f"""
import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo
from credira.worker.classifier import Classifier

async def main():
    classifier = Classifier(processes=1)
    await classifier.classify(
        {SHORT["dispute"]!r}, ended_at=datetime.fromisoformat({ENDED.isoformat()!r}),
        zone=ZoneInfo("UTC"),
    )
    print(*classifier._pool._processes, flush=True)
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""
    )
    with subprocess.Popen([sys.executable, program], stdout=subprocess.PIPE, text=True) as worker:
        try:
            assert worker.stdout is not None
            children = [int(pid) for pid in worker.stdout.readline().split()]
            assert children
            assert all(alive(pid) for pid in children)
        finally:
            worker.kill()  # SIGKILL: no shutdown of its pool

    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in children)
