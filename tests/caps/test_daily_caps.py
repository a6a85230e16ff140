"""Cost guards: an account's daily caps on calls placed and emails sent, checked by the worker
right before it dials or hands an email to the mail server.

Rows are written straight into the database and the executor and the email dispatcher run at
a frozen instant, as in ``tests/worker``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from credira.callout.service import to_read as callout_read
from credira.channel.email.port import HandOver, OutgoingEmail, SendResult
from credira.config import Settings
from credira.email.dispatch import EmailDispatcher, Links
from credira.email.service import to_detail as email_detail
from credira.kit.clock import FrozenClock
from credira.models import Callout, Email
from credira.worker import repository
from credira.worker.email_part import CalloutEmails
from credira.worker.execute import Executor
from tests import factories
from tests.worker.harness import Db, Debt, executor, new_debt, open_db, run_due

ZONE = "America/New_York"
AT = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # 10:00 in New York
MIDNIGHT = datetime(2024, 3, 6, tzinfo=UTC)  # the next UTC day; 19:00 in New York
NEXT_DAY = "2024-03-06T00:00:00Z"


@pytest.fixture
async def db(database_url: str, tmp_path: Any) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


async def another_debt(db: Db, debt: Debt, phone: str = "+14155550199") -> Debt:
    """A second open invoice of the same account (so that its calls meet no per-debt rule)."""
    invoice = factories.invoice(
        debt.account_id,
        debt.made,
        amount=Decimal("80.00"),
        customer_name="Jane Roe",
        customer_email=None,
        customer_phone=phone,
        customer_timezone=ZONE,
    )
    await db.add(invoice)
    return Debt(debt.account_id, debt.agent_id, invoice.id, phone, debt.made)


async def calls_already_placed(db: Db, debt: Debt, placed: list[datetime]) -> None:
    """Calls the account placed earlier about another debt, one callout each."""
    other = await another_debt(db, debt)
    for when in placed:
        callout = other.callout(run_at=when - timedelta(minutes=5), status="completed")
        await db.add(callout, other.call(callout.id, 1, when))


async def account_with_cap(db: Db, caps: dict[str, int]) -> Debt:
    return await new_debt(db, zone=ZONE, settings=caps, made=AT - timedelta(days=2))


# -- calls ---------------------------------------------------------------------------------


async def assert_held_by_call_cap(db: Db, callout_id: str) -> None:
    """What the client sees: still scheduled, held by the cap until the next UTC midnight;
    nothing dialled."""
    shown = callout_read(await db.get(Callout, callout_id))
    assert shown["status"] == "scheduled"
    assert shown["hold_reason"] == "daily_call_cap"
    assert shown["next_attempt_time"] == NEXT_DAY
    assert await db.calls(callout_id=callout_id) == []
    assert await db.placed_count() == 0


async def assert_called_at(db: Db, callout_id: str, at: datetime) -> None:
    callout = await db.get(Callout, callout_id)
    assert callout.status == "completed", (callout.status, callout.status_reason)
    [call] = await db.calls(callout_id=callout_id)
    assert call.placed_time == at
    assert await db.placed_count() == 1


@pytest.mark.parametrize(
    ("caps", "placed_hours_ago", "held"),
    [
        pytest.param({"daily_call_cap": 2}, [1, 14], True, id="cap-reached-today"),
        pytest.param({"daily_call_cap": 3}, [1, 14], False, id="one-left-today"),
        pytest.param({"daily_call_cap": 2}, [1, 16, 20], False, id="earlier-utc-days-not-counted"),
        pytest.param({}, [1, 2, 3], False, id="default-cap"),
    ],
)
async def test_call_is_held_once_the_account_reaches_its_daily_call_cap(
    db: Db, caps: dict[str, int], placed_hours_ago: list[int], held: bool
) -> None:
    debt = await account_with_cap(db, caps)
    await calls_already_placed(db, debt, [AT - timedelta(hours=h) for h in placed_hours_ago])
    callout = debt.callout(run_at=AT - timedelta(minutes=10))
    await db.add(callout)

    await run_due(db, FrozenClock(AT))

    if held:
        await assert_held_by_call_cap(db, callout.id)
    else:
        await assert_called_at(db, callout.id, AT)


async def test_callout_held_by_the_call_cap_is_called_after_utc_midnight(db: Db) -> None:
    debt = await account_with_cap(db, {"daily_call_cap": 1})
    await calls_already_placed(db, debt, [AT - timedelta(hours=1)])
    callout = debt.callout(run_at=AT - timedelta(minutes=10))
    await db.add(callout)
    clock = FrozenClock(AT)
    await run_due(db, clock)
    await assert_held_by_call_cap(db, callout.id)

    clock.set(MIDNIGHT - timedelta(seconds=1))
    assert await run_due(db, clock) == []  # not due before midnight
    clock.set(MIDNIGHT)
    assert await run_due(db, clock) == [callout.id]

    await assert_called_at(db, callout.id, MIDNIGHT)


@pytest.mark.parametrize(
    "workers",
    [
        pytest.param(8, id="eight-workers-one-callout-each"),
        pytest.param(2, id="two-workers-deciding-four-together"),
        pytest.param(1, id="one-worker-deciding-eight-together"),
    ],
)
async def test_concurrent_workers_never_place_more_calls_than_the_cap(db: Db, workers: int) -> None:
    debt = await account_with_cap(db, {"daily_call_cap": 3})
    callouts = []
    for n in range(8):
        other = await another_debt(db, debt, phone=f"+1415555010{n}")
        callouts.append(other.callout(run_at=AT - timedelta(minutes=10)))
    await db.add(*callouts)
    clock = FrozenClock(AT)
    async with db.sessions() as session:
        claimed = await repository.claim_due(
            session, "tester", AT, timedelta(seconds=30), len(callouts)
        )
    assert len(claimed) == len(callouts)

    # The executors decide at once, as that many workers would; each decides its share of
    # the callouts together, in one transaction. Any left undecided (the cap's count was busy
    # with another's) is due again at once, and claimed again, as by a worker.
    runners = [executor(db, clock, "tester") for _ in range(workers)]
    while claimed:
        await asyncio.wait_for(
            asyncio.gather(*(runners[n % workers].run(c) for n, c in enumerate(claimed))), 30
        )
        async with db.sessions() as session:
            claimed = await repository.claim_due(session, "tester", AT, timedelta(seconds=30), 8)

    # (How each placed call ended is the simulator's business: the number decides.)
    shown = [callout_read(await db.get(Callout, c.id)) for c in callouts]
    held = [s for s in shown if s.get("hold_reason") == "daily_call_cap"]
    assert len(held) == 5
    assert {s["next_attempt_time"] for s in held} == {NEXT_DAY}
    assert len(await db.calls(account_id=debt.account_id)) == 3
    assert await db.placed_count() == 3


# -- emails --------------------------------------------------------------------------------


@dataclass
class FakeMailServer:
    """Accepts every message and remembers it."""

    name: str = "fake"
    dedupes: bool = False
    received: list[OutgoingEmail] = field(default_factory=list)

    async def send(
        self, message: OutgoingEmail, *, hand_over: HandOver | None = None
    ) -> SendResult:
        if hand_over is not None:
            await hand_over()
        self.received.append(message)
        return SendResult("delivered", "250 OK")


def email_row(account_id: str, **overrides: Any) -> Email:
    """An email sent on its own, written a day before ``AT`` and due ten minutes before it."""
    overrides.setdefault("run_at", AT - timedelta(minutes=10))
    return factories.email(account_id, AT - timedelta(days=1), **overrides)


def sent_email(account_id: str, at: datetime) -> Email:
    return email_row(
        account_id, status="delivered", sent_time=at, delivered_time=at, attempt_count=1
    )


@pytest.fixture
def mail_server() -> FakeMailServer:
    return FakeMailServer()


@pytest.fixture
def make_dispatcher(db: Db, settings: Settings, mail_server: FakeMailServer) -> Any:
    def make(clock: FrozenClock) -> EmailDispatcher:
        links = Links(settings.model_copy(update={"secret_key": "k" * 32}), db.sessions)
        return EmailDispatcher(db.sessions, clock, mail_server, links)

    return make


@pytest.mark.parametrize(
    ("cap", "sent_hours_ago", "held"),
    [
        pytest.param(2, [1, 14], True, id="cap-reached-today"),
        pytest.param(3, [1, 14], False, id="one-left-today"),
        pytest.param(1, [16, 40], False, id="earlier-utc-days-not-counted"),
        pytest.param(None, [1, 2, 3], False, id="default-cap"),
    ],
)
async def test_email_is_held_once_the_account_reaches_its_daily_email_cap(
    db: Db,
    make_dispatcher: Any,
    mail_server: FakeMailServer,
    cap: int | None,
    sent_hours_ago: list[int],
    held: bool,
) -> None:
    debt = await account_with_cap(db, {"daily_email_cap": cap} if cap is not None else {})
    await db.add(*(sent_email(debt.account_id, AT - timedelta(hours=h)) for h in sent_hours_ago))
    email = email_row(debt.account_id)
    await db.add(email)

    outcome = await make_dispatcher(FrozenClock(AT)).deliver(email.id)

    shown = email_detail(await db.get(Email, email.id))
    if held:
        assert (outcome.outcome, outcome.reason, outcome.retry_at) == (
            "held",
            "daily_email_cap",
            MIDNIGHT,
        )
        assert shown["status"] == "scheduled"
        assert shown["status_reason"] == "daily_email_cap"
        assert shown["sent_time"] is None
        assert (await db.get(Email, email.id)).run_at == MIDNIGHT
        assert mail_server.received == []
    else:
        assert outcome.outcome == "delivered"
        assert shown["status"] == "delivered"
        assert [m.message_id for m in mail_server.received] == [email.message_id]


async def test_email_held_by_the_cap_is_sent_after_utc_midnight(
    db: Db, make_dispatcher: Any, mail_server: FakeMailServer
) -> None:
    debt = await account_with_cap(db, {"daily_email_cap": 1})
    email = email_row(debt.account_id)
    await db.add(sent_email(debt.account_id, AT - timedelta(hours=1)), email)
    clock = FrozenClock(AT)
    assert (await make_dispatcher(clock).deliver(email.id)).outcome == "held"

    clock.set(MIDNIGHT)
    outcome = await make_dispatcher(clock).deliver(email.id)

    assert outcome.outcome == "delivered"
    assert email_detail(await db.get(Email, email.id))["sent_time"] == NEXT_DAY
    assert [m.message_id for m in mail_server.received] == [email.message_id]


async def test_retried_email_does_not_count_against_itself(
    db: Db, make_dispatcher: Any, mail_server: FakeMailServer
) -> None:
    """An email first sent today and deferred by the mail server was counted then: its retry
    goes out although the cap of one is "used" by that very email."""
    debt = await account_with_cap(db, {"daily_email_cap": 1})
    email = email_row(debt.account_id, sent_time=AT - timedelta(hours=1), attempt_count=1)
    await db.add(email)

    outcome = await make_dispatcher(FrozenClock(AT)).deliver(email.id)

    assert outcome.outcome == "delivered"
    assert len(mail_server.received) == 1


async def test_email_only_callout_held_by_the_email_cap_shows_it(
    db: Db, make_dispatcher: Any, mail_server: FakeMailServer
) -> None:
    debt = await account_with_cap(db, {"daily_email_cap": 1})
    callout = debt.callout(
        run_at=AT - timedelta(minutes=10), calls_enabled=False, emails_enabled=True
    )
    await db.add(callout, sent_email(debt.account_id, AT - timedelta(hours=1)))
    await db.add(
        email_row(
            debt.account_id, origin="callout", callout_id=callout.id, invoice_id=debt.invoice_id
        )
    )
    clock = FrozenClock(AT)
    emails = CalloutEmails(db.sessions, clock, make_dispatcher(clock), "tester")
    runner: Executor = executor(db, clock, "tester")
    runner.emails = emails
    async with db.sessions() as session:
        [claimed] = await repository.claim_due(session, "tester", AT, timedelta(seconds=30), 1)

    await runner.run(claimed)

    shown = callout_read(await db.get(Callout, callout.id))
    assert shown["status"] == "scheduled"
    assert shown["hold_reason"] == "daily_email_cap"
    assert shown["next_attempt_time"] == NEXT_DAY
    assert mail_server.received == []
