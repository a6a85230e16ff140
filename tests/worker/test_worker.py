"""The worker loop and the executor, in-process against rows written into the database:
claim order, takeover of an abandoned callout, retries, settled invoices, email-only
callouts; and a real ``credira worker`` stopped with SIGTERM mid-call."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from credira.channel.voice.port import CallRequest, ProviderCall
from credira.channel.voice.registry import VoiceProviders
from credira.channel.voice.simulator import VoiceSimulator
from credira.kit.clock import SystemClock
from credira.models import Call, Callout, Invoice
from credira.worker import repository
from credira.worker.execute import Executor
from credira.worker.repository import Claimed
from tests.support import zone_in_calling_hours
from tests.worker.harness import Db, Debt, callout_status, executor, new_debt, open_db, until
from tests.worker.harness import simulator as make_simulator
from tests.worker.harness import worker as make_worker

CREDIRA = str(Path(sys.executable).parent / "credira")


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


@pytest.fixture
def zone() -> str:
    return zone_in_calling_hours()


class Running:
    """A worker loop run as a task for the length of a ``with`` block."""

    def __init__(self, db: Db, **options: Any) -> None:
        self.worker = make_worker(db, **options)
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.worker.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)


async def finished(db: Db, *callout_ids: str) -> bool:
    async with db.reads() as session:
        statuses = (
            await session.scalars(select(Callout.status).where(Callout.id.in_(callout_ids)))
        ).all()
    return len(statuses) == len(callout_ids) and all(
        s in ("completed", "failed", "cancelled") for s in statuses
    )


# -- claim order ---------------------------------------------------------------------------


async def test_claims_urgent_first_then_by_priority_then_the_longest_due(
    db: Db, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    table = [  # (priority, minutes overdue)
        ("low", 50),
        ("medium", 40),
        ("urgent", 5),
        ("high", 30),
        ("urgent", 20),
        ("medium", 45),
        ("high", 10),
        ("low", 60),
    ]
    ids: dict[tuple[str, int], str] = {}
    for priority, overdue in table:
        debt = await new_debt(db, zone=zone, made=now - timedelta(hours=2))
        callout = debt.callout(run_at=now - timedelta(minutes=overdue), priority=priority)
        await db.add(callout)
        ids[(priority, overdue)] = callout.id
    expected = [
        ids[("urgent", 20)],
        ids[("urgent", 5)],
        ids[("high", 30)],
        ids[("high", 10)],
        ids[("medium", 45)],
        ids[("medium", 40)],
        ids[("low", 60)],
        ids[("low", 50)],
    ]

    running = Running(db, concurrency=1)
    claimed: list[str] = []
    original = running.worker.executor.run

    async def recording(item: Claimed) -> None:
        claimed.append(item.callout_id)
        await original(item)

    monkeypatch.setattr(running.worker.executor, "run", recording)
    async with running:
        await until(lambda: finished(db, *expected), within=20)

    assert claimed == expected
    calls = [(await db.calls(callout_id=c))[0] for c in expected]
    placed = [c.placed_time or datetime.max.replace(tzinfo=UTC) for c in calls]
    assert placed == sorted(placed)  # one at a time, in that order
    assert [c.status for c in calls] == ["completed"] * len(expected)


async def test_a_claim_of_several_takes_them_across_priorities_in_claim_order(
    db: Db, zone: str
) -> None:
    """A claim reads one priority after another and stops when it is full: the two urgent
    callouts, then the longest due of the high ones; the next claim goes on from there."""
    now = datetime.now(UTC)
    debt = await new_debt(db, zone=zone, made=now - timedelta(hours=2))
    table = [("low", 50), ("medium", 40), ("urgent", 5), ("high", 30), ("urgent", 20)]
    table += [("medium", 45), ("high", 10), ("low", 60), ("high", -5)]  # the last not yet due
    ids: dict[tuple[str, int], str] = {}
    for priority, overdue in table:
        callout = debt.callout(run_at=now - timedelta(minutes=overdue), priority=priority)
        await db.add(callout)
        ids[(priority, overdue)] = callout.id

    async def claim(limit: int) -> list[str]:
        async with db.sessions() as session:
            taken = await repository.claim_due(session, "w1", now, timedelta(seconds=30), limit)
        return [t.callout_id for t in taken]

    assert await claim(3) == [ids[("urgent", 20)], ids[("urgent", 5)], ids[("high", 30)]]
    assert await claim(3) == [ids[("high", 10)], ids[("medium", 45)], ids[("medium", 40)]]
    assert await claim(3) == [ids[("low", 60)], ids[("low", 50)]]
    assert await claim(3) == []
    assert await callout_status(db, ids[("high", -5)]) == "scheduled"


# -- takeover of an abandoned callout ------------------------------------------------------


async def abandon_mid_call(db: Db, debt: Debt, callout: Callout) -> None:
    """A worker claims the callout and dies while the call is in progress."""
    async with db.sessions() as session:
        [claimed] = await repository.claim_due(
            session, "dead-worker", datetime.now(UTC), timedelta(seconds=30), 10
        )
    task = asyncio.create_task(
        executor(db, SystemClock(), "dead-worker", time_scale=0.5).run(claimed)
    )

    async def in_progress() -> bool:
        calls = await db.calls(callout_id=callout.id)
        return bool(calls) and calls[0].status == "in_progress"

    await until(in_progress, within=10)
    task.cancel()  # nothing more is written: as good as a SIGKILL for this callout
    await asyncio.gather(task, return_exceptions=True)


async def abandon_after_dialling(db: Db, debt: Debt, callout: Callout) -> None:
    """A worker wrote the attempt, the provider placed the call, and the worker died before
    recording the provider's call id."""
    now = datetime.now(UTC)
    call = debt.call(callout.id, 1, now, status="initiated")
    call.end_time = None
    await db.add(call)
    await db.edit(
        Callout,
        callout.id,
        status="active",
        lease_owner="dead-worker",
        lease_expires=now + timedelta(seconds=30),
        attempt_count=1,
    )
    await make_simulator(db, time_scale=0.5).start_call(
        CallRequest(
            idempotency_key=call.idempotency_key,
            to_number=debt.phone,
            from_number=None,
            script="Hello John Doe.",
            language="en-US",
            voice="default",
            max_duration=600,
        )
    )


@pytest.mark.parametrize("abandon", [abandon_mid_call, abandon_after_dialling])
async def test_an_expired_lease_is_taken_over_and_the_open_call_is_not_dialled_again(
    db: Db, zone: str, abandon: object
) -> None:
    debt = await new_debt(db, zone=zone)
    callout = debt.callout()
    await db.add(callout)
    await abandon(db, debt, callout)  # type: ignore[operator]
    assert await db.placed_count() == 1

    # While the dead worker's lease runs, nobody else takes the callout...
    async with db.sessions() as session:
        assert (
            await repository.claim_due(
                session, "heir", datetime.now(UTC), timedelta(seconds=30), 10
            )
            == []
        )
    # ...and once it has run out, the next worker does, and finishes the call already placed.
    await db.edit(Callout, callout.id, lease_expires=datetime.now(UTC) - timedelta(seconds=1))
    async with Running(db):
        await until(lambda: finished(db, callout.id))

    done = await db.get(Callout, callout.id)
    assert (done.status, done.attempt_count, done.lease_owner) == ("completed", 1, None)
    [call] = await db.calls(callout_id=callout.id)
    assert (call.attempt_number, call.status, call.outcome) == (1, "completed", "acknowledged")
    assert call.provider_call_id is not None
    assert await db.placed_count() == 1


# -- retries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "status", "limit"),
    [("01", "no_answer", 2), ("02", "busy", 3), ("03", "voicemail", 2), ("04", "failed", 1)],
)
async def test_unanswered_calls_are_retried_up_to_the_account_limit_then_fail(
    db: Db, zone: str, digits: str, status: str, limit: int
) -> None:
    debt = await new_debt(
        db,
        zone=zone,
        phone=f"+14155550{digits[0]}{digits}",
        settings={"max_call_attempts": limit, "retry_minutes": [0]},
    )
    callout = debt.callout()
    await db.add(callout)

    async with Running(db):
        await until(lambda: finished(db, callout.id), within=15)

    done = await db.get(Callout, callout.id)
    assert done.status == "failed"
    assert done.status_reason is not None
    assert status in done.status_reason
    assert re.search(rf"\b{limit}\b", done.status_reason), done.status_reason
    assert done.attempt_count == limit
    calls = await db.calls(callout_id=callout.id)
    assert [c.attempt_number for c in calls] == list(range(1, limit + 1))
    assert [c.status for c in calls] == [status] * limit
    assert len({c.idempotency_key for c in calls}) == limit
    assert len({c.attempt_id for c in calls}) == limit
    assert await db.placed_count() == limit


# -- cancelled mid-call ----------------------------------------------------------------------


async def test_callouts_cancelled_during_their_calls_hang_up(db: Db, zone: str) -> None:
    # Number ending 09: the simulator's long call, in progress for 30 s of real time.
    debts = [await new_debt(db, zone=zone, phone=f"+1415555{n:02d}09") for n in range(3)]
    callouts = [debt.callout() for debt in debts]
    await db.add(*callouts)

    async def talking() -> bool:
        calls = [await db.calls(callout_id=c.id) for c in callouts]
        return all(found and found[0].status == "in_progress" for found in calls)

    async with Running(db, time_scale=0.02):
        await until(talking)
        for callout in callouts:  # as DELETE /callouts/{id} does
            await db.edit(Callout, callout.id, status="cancelled")
        # Each call asks about its callout every second, and hangs up.
        await until(lambda: finished_calls(db, *callouts), within=5)

    for callout in callouts:
        [call] = await db.calls(callout_id=callout.id)
        assert call.status == "cancelled"
        assert (await db.get(Callout, callout.id)).status == "cancelled"


async def finished_calls(db: Db, *callouts: Callout) -> bool:
    calls = [await db.calls(callout_id=c.id) for c in callouts]
    return all(found and found[0].status == "cancelled" for found in calls)


# -- settled invoices ----------------------------------------------------------------------


@pytest.mark.parametrize("settled", ["paid", "void", "disputed"])
async def test_a_callout_of_an_invoice_settled_while_it_waited_is_cancelled_undialled(
    db: Db, zone: str, settled: str
) -> None:
    debt = await new_debt(db, zone=zone)
    callout = debt.callout(run_at=datetime.now(UTC) - timedelta(minutes=1))
    await db.add(callout)
    # Settled behind the API's back (an import, another replica): the worker still checks.
    await db.edit(Invoice, debt.invoice_id, status=settled)

    async with Running(db):
        await until(lambda: finished(db, callout.id))

    done = await db.get(Callout, callout.id)
    assert (done.status, done.status_reason) == ("cancelled", f"invoice {settled}")
    assert await db.calls(invoice_id=debt.invoice_id) == []
    assert await db.placed_count() == 0


async def test_a_requested_call_of_an_invoice_paid_meanwhile_is_cancelled_undialled(
    db: Db, zone: str
) -> None:
    debt = await new_debt(db, zone=zone)
    now = datetime.now(UTC)
    callout = debt.callout(run_at=now, origin="call_request")
    callout.attempt_count = 1  # POST /calls writes its one attempt ahead
    await db.add(callout)
    requested = debt.call(callout.id, 1, now, status="initiated")
    requested.placed_time = None
    requested.end_time = None
    await db.add(requested)
    await db.edit(Invoice, debt.invoice_id, status="paid")

    async with Running(db):
        await until(lambda: finished(db, callout.id))

    assert await callout_status(db, callout.id) == "cancelled"
    [call] = await db.calls(callout_id=callout.id)
    assert (call.status, call.placed_time) == ("cancelled", None)
    assert await db.placed_count() == 0


# -- transcripts in a provider's words -----------------------------------------------------


class ProviderWords(VoiceSimulator):
    """The simulator's calls, with the speaker labels a real provider writes in transcripts."""

    def __init__(self, *args: Any, debtor: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.debtor = debtor

    async def get_call(self, provider_call_id: str) -> ProviderCall:
        found = await super().get_call(provider_call_id)
        if found.transcript is None:
            return found
        lines = [
            re.sub(r"^Agent:", "Assistant:", re.sub(r"^Debtor:", f"{self.debtor}:", line))
            for line in found.transcript.split("\n")
        ]
        return replace(found, transcript="\n".join(lines))


@pytest.mark.parametrize("debtor", ["Customer", "User"])
async def test_a_transcript_with_customer_speaker_lines_is_counted_as_answered(
    db: Db, zone: str, debtor: str
) -> None:
    # Number ending 05: the debtor promises to pay in 7 days.
    debt = await new_debt(db, zone=zone, phone="+14155550105")
    callout = debt.callout(run_at=datetime.now(UTC) - timedelta(minutes=1))
    await db.add(callout)
    clock = SystemClock()
    voice = ProviderWords(
        db.sessions, clock, read_sessionmaker=db.reads, time_scale=0.02, debtor=debtor
    )
    runner = Executor(
        db.sessions,
        clock,
        VoiceProviders({"simulator": voice}),
        "tester",
        read_sessionmaker=db.reads,
        poll_seconds=0.005,
    )
    async with db.sessions() as session:
        [claimed] = await repository.claim_due(
            session, "tester", clock.now(), timedelta(seconds=30), 10
        )
    await asyncio.wait_for(runner.run(claimed), timeout=20)

    # A conversation took place: its outcome counts, and the debtor is not called again.
    [call] = await db.calls(callout_id=callout.id)
    assert f"\n{debtor}: " in (call.transcript or "")
    assert (call.status, call.answered, call.outcome) == ("completed", True, "promise_to_pay")
    assert "promised to pay" in (call.summary or "")
    done = await db.get(Callout, callout.id)
    assert (done.status, done.attempt_count) == ("completed", 1)
    assert (await db.get(Invoice, debt.invoice_id)).promised_date is not None
    assert await db.placed_count() == 1


# -- email-only callouts -------------------------------------------------------------------


async def test_an_email_only_callout_is_never_called_and_fails_without_an_email_channel(
    db: Db, zone: str
) -> None:
    # This worker has no email channel configured (the in-process harness wires none).
    debt = await new_debt(db, zone=zone)
    callout = debt.callout(calls_enabled=False, emails_enabled=True)
    await db.add(callout)

    async with Running(db):
        await until(lambda: finished(db, callout.id))

    done = await db.get(Callout, callout.id)
    assert done.status == "failed"
    assert done.status_reason is not None
    assert "email" in done.status_reason
    assert await db.calls(invoice_id=debt.invoice_id) == []
    assert await db.placed_count() == 0


# -- graceful stop of a real worker process ------------------------------------------------


class Process:
    def __init__(self, url: str, tmp_path: Path, name: str, **env: str) -> None:
        self.log = tmp_path / f"{name}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CREDIRA_")}
        environment |= {
            "CREDIRA_DATABASE_URL": url,
            "CREDIRA_DATA_DIR": str(tmp_path / name),
            "CREDIRA_LOG_LEVEL": "warning",
            "CREDIRA_WORKER_POLL_SECONDS": "0.05",
            **env,
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [CREDIRA, "worker"], env=environment, stdout=out, stderr=subprocess.STDOUT
            )

    def terminate(self) -> float:
        """SIGTERM; the seconds it took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


async def count_calls(db: Db) -> int:
    async with db.reads() as session:
        return int(await session.scalar(select(func.count()).select_from(Call)) or 0)


# Separate worker processes are meant for PostgreSQL (they work on one SQLite file too); one
# backend keeps these process tests short.
@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)
@pytest.mark.parametrize(
    ("grace", "ends_within_grace"),
    [
        pytest.param(10.0, True, id="call-ends-within-the-grace"),
        pytest.param(1.0, False, id="call-outlasts-the-grace"),
    ],
)
async def test_sigterm_mid_call_exits_cleanly_and_no_call_is_placed_twice(
    db: Db,
    database_url: str,
    zone: str,
    tmp_path: Path,
    processes: list[Process],
    grace: float,
    ends_within_grace: bool,
) -> None:
    debt = await new_debt(db, zone=zone)
    callout = debt.callout()
    await db.add(callout)
    # An answered call lasts 1.6 s at scale 1, and 4.8 s at scale 3 (in progress from 1.8 s).
    scale = "1" if ends_within_grace else "3"
    env = {
        "CREDIRA_SIMULATOR_TIME_SCALE": scale,
        "CREDIRA_WORKER_GRACE_SECONDS": str(grace),
        "CREDIRA_WORKER_LEASE_SECONDS": "60",
    }
    first = Process(database_url, tmp_path, "first", **env)
    processes.append(first)

    async def in_progress() -> bool:
        calls = await db.calls(callout_id=callout.id)
        return bool(calls) and calls[0].status == "in_progress"

    await until(in_progress, within=30)
    took = first.terminate()

    assert first.proc.returncode == 0, first.output()
    assert took < grace + 5, took  # the grace, and a moment to hand back and shut down
    assert "Traceback" not in first.output()
    if ends_within_grace:
        # It finished the call it had before leaving, without waiting out the grace.
        assert took < grace
        assert await callout_status(db, callout.id) == "completed"
    else:
        # It left with the call still going, and handed the callout back at once instead of
        # letting its 60 s lease run out...
        left = await db.get(Callout, callout.id)
        assert left.status == "active"
        assert left.lease_expires is not None
        assert left.lease_expires <= datetime.now(UTC)
        [call] = await db.calls(callout_id=callout.id)
        assert call.status == "in_progress"
        # ...so the next worker takes it over at once and finishes the call already placed.
        heir = Process(database_url, tmp_path, "heir", **env)
        processes.append(heir)
        await until(lambda: finished(db, callout.id), within=30)
        heir.terminate()
        assert heir.proc.returncode == 0, heir.output()
        assert "Traceback" not in heir.output()

    done = await db.get(Callout, callout.id)
    assert (done.status, done.attempt_count) == ("completed", 1)
    [call] = await db.calls(callout_id=callout.id)
    assert (call.status, call.outcome) == ("completed", "acknowledged")
    assert await count_calls(db) == 1
    assert await db.placed_count() == 1
