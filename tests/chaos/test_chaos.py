"""The short chaos run (see harness.py): a few hundred callouts with calls and emails, two
worker processes, a random one SIGKILLed every few seconds, the database cut twice through a
proxy (CI's other tests share the PostgreSQL server, so it is not restarted here). One run per
module; each test checks one promise against its report.

The full run, with thousands of callouts and the server itself restarted twice, is
``python -m tests.chaos --restart-postgres``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from credira.models import Base
from tests.chaos.harness import ChaosConfig, Report, run_chaos

pytestmark = pytest.mark.postgresql

# About 40 s on two cores: kills every 2-4 s for 20 s, cuts at 5 s and 14 s, leases of 5 s so
# that a killed worker's callouts are taken over within the run.
CI = ChaosConfig(
    callouts=200,
    night_callouts=20,
    emails=40,
    kill_every=(2.0, 4.0),
    cuts_at=(5.0, 14.0),
    cut_seconds=2.0,
    chaos_seconds=20.0,
    deadline_seconds=120.0,
    lease_seconds=5.0,
    time_scale=0.2,
)


async def _empty(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def chaos(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    asyncio.run(_empty(postgres_url))
    folder = tmp_path_factory.mktemp("chaos")
    report = asyncio.run(run_chaos(postgres_url, folder, CI))
    print(report.summary())  # shown with -s, and kept in the captured output of a failure
    yield report
    asyncio.run(_empty(postgres_url))


def test_the_chaos_happened(chaos: Report) -> None:
    assert chaos.db_cuts == len(CI.cuts_at)
    assert chaos.kills >= 4, chaos.summary()
    assert chaos.finished, chaos.summary()


def test_no_callout_or_email_is_lost(chaos: Report) -> None:
    assert chaos.lost == [], chaos.summary()


def test_no_call_is_placed_twice(chaos: Report) -> None:
    assert chaos.duplicate_calls == [], chaos.summary()
    assert chaos.simulator_calls == chaos.calls_placed > 0


def test_no_call_is_placed_outside_the_calling_window(chaos: Report) -> None:
    assert chaos.outside_window == [], chaos.summary()


def test_every_conversation_has_its_effect(chaos: Report) -> None:
    assert chaos.lost_outcomes == [], chaos.summary()


def test_every_callout_email_and_call_has_one_terminal_event(chaos: Report) -> None:
    # Takeovers, kills mid-conclusion and cuts mid-commit: each object's end is written once,
    # with the change that made it.
    assert chaos.terminal_events == [], chaos.summary()


def test_every_delivered_email_reached_the_server(chaos: Report) -> None:
    assert chaos.missing_emails == [], chaos.summary()


def test_no_second_email_is_made_for_one(chaos: Report) -> None:
    assert chaos.extra_emails == [], chaos.summary()


def test_no_email_is_sent_twice(chaos: Report) -> None:
    # An email whose delivery is unknown (its worker died, or lost the database, after
    # handing it to the server) is left unconfirmed, never sent again.
    assert chaos.resent_emails == [], chaos.summary()


def test_running_workers_survive_the_database_going_away(chaos: Report) -> None:
    # Only our kills end a running worker; one started during a cut may exit (and is
    # replaced), and tracebacks of callouts interrupted by a cut are expected.
    assert chaos.crashes == [], chaos.crashes
