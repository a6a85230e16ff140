"""The overview's figures, read from one scene on SQLite and PostgreSQL: today is the operator's
local day, the next hours' contacts carry the debtors' local times, outcomes and money fall on
the operator's days, the worker's health counts what is late, held and unconfirmed, and
another account's rows never show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from credira.callout.state import CalloutStatus
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.email.state import EmailStatus
from credira.invoice import state as invoice_state
from credira.invoice.state import InvoiceStatus
from credira.kit.ids import new_id, new_token
from credira.models import Call, Invoice
from credira.overview import service
from tests import factories

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # 16:30 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")


def call(invoice: Invoice, callout_id: str, placed: datetime, **fields: Any) -> Call:
    token = new_token()
    values: dict[str, Any] = {
        "id": new_id("call"),
        "account_id": invoice.account_id,
        "invoice_id": invoice.id,
        "callout_id": callout_id,
        "attempt_id": f"attempt_{token}",
        "attempt_number": 1,
        "idempotency_key": f"call:{token}",
        "provider": "simulator",
        "to_number": factories.PHONE,
        "status": "completed",
        "call_purpose": "payment_reminder",
        "scheduled_time": placed,
        "placed_time": placed,
        "answered": True,
        "keywords": [],
        "tags": [],
        "metadata_": {},
        "created_time": placed,
        "updated_time": placed,
    }
    values.update(fields)
    return Call(**values)


async def scene(session: AsyncSession, account_id: str, *, full: bool) -> dict[str, Any]:
    """One account's rows. ``full``: the whole scene; else one row of each kind, to show that
    another account's rows are never counted."""
    past = NOW - timedelta(days=3)
    ny = factories.invoice(account_id, past, customer_timezone="America/New_York")
    tokyo = factories.invoice(account_id, past, customer_timezone="Asia/Tokyo", currency="EUR")
    nowhere = factories.invoice(account_id, past, customer_timezone=None)
    session.add_all([ny, tokyo, nowhere])
    await session.flush()

    def callout(of: Invoice, status: CalloutStatus, run_at: datetime, **fields: Any) -> str:
        row = factories.callout(account_id, of.id, None, past, status=status, run_at=run_at)
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)
        return row.id

    done = CalloutStatus.COMPLETED
    # Today in Berlin: from 23:00 UTC yesterday.
    callout(ny, done, datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    ids = {"soon": callout(ny, CalloutStatus.SCHEDULED, NOW + timedelta(hours=2))}
    await session.flush()  # the calls refer to it
    session.add(call(ny, ids["soon"], NOW - timedelta(hours=1), outcome="promise_to_pay"))
    session.add(factories.email(account_id, past, status=EmailStatus.UNCONFIRMED))
    invoice_state.move(session, tokyo, InvoiceStatus.PAID, None, NOW - timedelta(days=3))
    if not full:
        await session.flush()
        return ids
    callout(ny, done, datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    callout(ny, CalloutStatus.FAILED, datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    # Yesterday in Berlin (23:00 there), and tomorrow.
    callout(ny, done, datetime(2026, 3, 9, 22, 0, tzinfo=UTC))
    callout(ny, done, datetime(2026, 3, 11, 0, 0, tzinfo=UTC))
    ids["held"] = callout(
        tokyo,
        CalloutStatus.SCHEDULED,
        NOW + timedelta(hours=5),
        scheduled_time=NOW - timedelta(days=2),
        hold_reason="outside_calling_window",
    )
    ids["nowhere"] = callout(
        nowhere, CalloutStatus.SCHEDULED, NOW + timedelta(hours=11), scheduled_time=past
    )
    callout(ny, CalloutStatus.SCHEDULED, NOW + timedelta(hours=13), scheduled_time=past)
    for _ in range(2):
        callout(
            ny,
            CalloutStatus.SCHEDULED,
            NOW + timedelta(days=3),
            scheduled_time=past,
            hold_reason="promise_to_pay",
        )
    # Due and not yet taken: 90 and 2 minutes late.
    callout(ny, CalloutStatus.SCHEDULED, NOW - timedelta(minutes=90), scheduled_time=past)
    callout(ny, CalloutStatus.SCHEDULED, NOW - timedelta(minutes=2), scheduled_time=past)
    # Being run by a worker whose lease ran out, and by one whose lease holds.
    callout(
        ny,
        CalloutStatus.ACTIVE,
        past,
        scheduled_time=past,
        lease_expires=NOW - timedelta(minutes=1),
    )
    callout(
        ny,
        CalloutStatus.ACTIVE,
        past,
        scheduled_time=past,
        lease_expires=NOW + timedelta(minutes=1),
    )
    await session.flush()
    today = NOW - timedelta(hours=2)
    yesterday = NOW - timedelta(days=1)
    session.add_all(
        [
            call(ny, ids["soon"], today, outcome="promise_to_pay"),
            call(ny, ids["soon"], today, outcome="dispute"),
            call(ny, ids["soon"], today, answered=False, status="no_answer"),
            call(ny, ids["soon"], yesterday, outcome="opt_out"),
            # 23:30 UTC the day before yesterday: yesterday in Berlin.
            call(ny, ids["soon"], datetime(2026, 3, 8, 23, 30, tzinfo=UTC), outcome="acknowledged"),
        ]
    )
    session.add(factories.email(account_id, past, status=EmailStatus.DELIVERED))
    invoice_state.promised(session, ny, date(2026, 3, 20), NOW - timedelta(hours=1))
    invoice_state.promised(session, nowhere, date(2026, 3, 25), yesterday)
    await session.flush()
    return ids


@pytest.fixture
async def session(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = create_engine(Settings(database_url=database_url, data_dir=tmp_path / "data"))
    try:
        async with create_sessionmaker(engine)() as opened:
            yield opened
    finally:
        await engine.dispose()


async def test_overview_counts_the_accounts_own_rows_in_the_operators_days(
    session: AsyncSession,
) -> None:
    mine, theirs = factories.account(NOW), factories.account(NOW, name="Other")
    session.add_all([mine, theirs])
    await session.flush()
    ids = await scene(session, mine.id, full=True)
    await scene(session, theirs.id, full=False)
    await session.commit()

    today = await service.today_by_status(session, mine.id, NOW, BERLIN)
    assert today == {"completed": 2, "failed": 1, "scheduled": 1}
    # In UTC, today starts an hour later: the 23:30 callout of the 9th is yesterday's.
    assert await service.today_by_status(session, mine.id, NOW, ZoneInfo("UTC")) == {
        "completed": 1,
        "failed": 1,
        "scheduled": 1,
    }

    upcoming = await service.upcoming(session, mine.id, NOW, BERLIN, hours=12)
    assert upcoming.total == 3
    assert [c.due.callout_id for c in upcoming.contacts] == [
        ids["soon"],
        ids["held"],
        ids["nowhere"],
    ]
    soon, held, nowhere = upcoming.contacts
    assert (soon.zone_name, soon.local.hour, soon.operator_local.hour) == (
        "America/New_York",
        13,
        18,
    )
    assert (held.zone_name, held.local.hour, held.due.hold_reason) == (
        "Asia/Tokyo",
        5,  # 20:30 UTC is 05:30 the next morning in Tokyo
        "outside_calling_window",
    )
    # An invoice with no time zone is shown in the operator's.
    assert (nowhere.zone_name, nowhere.local.hour) == ("Europe/Berlin", 3)
    first = await service.upcoming(session, mine.id, NOW, BERLIN, hours=12, limit=1)
    assert (len(first.contacts), first.total) == (1, 3)

    outcomes = await service.outcomes(session, mine.id, NOW, BERLIN, days=3)
    assert outcomes.days == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
    assert outcomes.calls == [0, 2, 4]
    assert outcomes.reached == [0, 2, 3]
    assert outcomes.by_outcome["promise_to_pay"] == [0, 0, 2]
    assert outcomes.by_outcome["dispute"] == [0, 0, 1]
    assert outcomes.by_outcome["opt_out"] == [0, 1, 0]
    assert outcomes.by_outcome["acknowledged"] == [0, 1, 0]

    money = await service.money(session, mine.id, NOW, BERLIN, days=3)
    assert money.currencies == ["USD"]
    assert money.promised["USD"] == [Decimal(0), Decimal("1250.00"), Decimal("1250.00")]
    assert money.recovered["USD"] == [Decimal(0), Decimal(0), Decimal(0)]
    assert (money.promise_count, money.paid_count) == (2, 0)
    assert [(p.amount, p.promised_date) for p in money.promises] == [
        (Decimal("1250.00"), date(2026, 3, 20)),
        (Decimal("1250.00"), date(2026, 3, 25)),
    ]
    # Paid three days ago: inside a week, not inside three days.
    week = await service.money(session, mine.id, NOW, BERLIN, days=7)
    assert week.currencies == ["USD", "EUR"]  # the most promised or recovered first
    assert week.recovered["EUR"] == [Decimal(0)] * 3 + [Decimal("1250.00")] + [Decimal(0)] * 3
    assert week.promised["EUR"] == [Decimal(0)] * 7
    assert week.paid_count == 1

    health = await service.health(session, mine.id, NOW)
    late = health.lateness
    assert (late.due, late.late_1m, late.late_5m, late.late_1h) == (2, 2, 1, 1)
    assert late.oldest_due == NOW - timedelta(minutes=90)
    assert late.stale_active == 1
    assert health.held == {"promise_to_pay": 2, "outside_calling_window": 1}
    assert health.unconfirmed_total == 1
    assert len(health.unconfirmed) == 1


async def test_days_that_are_over_are_read_once(session: AsyncSession) -> None:
    mine = factories.account(NOW)
    session.add(mine)
    await session.flush()
    invoice = factories.invoice(mine.id, NOW - timedelta(days=5))
    session.add(invoice)
    await session.flush()
    callout = factories.callout(mine.id, invoice.id, None, NOW, status=CalloutStatus.COMPLETED)
    session.add(callout)
    await session.flush()
    yesterday, today = NOW - timedelta(days=1), NOW - timedelta(minutes=30)
    session.add_all([call(invoice, callout.id, yesterday), call(invoice, callout.id, today)])
    await session.commit()
    cache = service.DayCache()
    first = await service.outcomes(session, mine.id, NOW, BERLIN, days=2, cache=cache)
    assert first.calls == [1, 1]
    # A call recorded later on a day that was over (a backfill) is not read again; today's is.
    session.add_all([call(invoice, callout.id, yesterday), call(invoice, callout.id, today)])
    invoice_state.promised(session, invoice, date(2026, 3, 20), today)
    await session.commit()
    again = await service.outcomes(session, mine.id, NOW, BERLIN, days=2, cache=cache)
    assert again.calls == [1, 2]
    assert (await service.outcomes(session, mine.id, NOW, BERLIN, days=2)).calls == [2, 2]
    # Today is still changing until two hours after it ends.
    late = datetime(2026, 3, 11, 0, 30, tzinfo=UTC)  # 01:30 in Berlin: yesterday ended 1.5 h ago
    assert (await service.outcomes(session, mine.id, late, BERLIN, days=2, cache=cache)).calls == [
        2,
        0,
    ]
    money = await service.money(session, mine.id, NOW, BERLIN, days=2, cache=cache)
    assert money.promised["USD"] == [Decimal(0), Decimal("1250.00")]
    assert [p.promised_date for p in money.promises] == [date(2026, 3, 20)]


async def test_an_empty_account_has_an_empty_overview(session: AsyncSession) -> None:
    mine = factories.account(NOW)
    session.add(mine)
    await session.commit()
    assert await service.today_by_status(session, mine.id, NOW, BERLIN) == {}
    upcoming = await service.upcoming(session, mine.id, NOW, BERLIN)
    assert (upcoming.contacts, upcoming.total) == ([], 0)
    outcomes = await service.outcomes(session, mine.id, NOW, BERLIN, days=2)
    assert outcomes.calls == [0, 0]
    money = await service.money(session, mine.id, NOW, BERLIN, days=2)
    assert (money.currencies, money.promises) == ([], [])
    health = await service.health(session, mine.id, NOW)
    assert (health.lateness.due, health.lateness.oldest_due, health.held) == (0, None, {})
