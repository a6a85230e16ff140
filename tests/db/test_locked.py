"""Rows a transaction holds locked are written many per statement, their versions advanced as
the ORM's own writes advance them, so a writer holding an older copy still fails its check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm.exc import StaleDataError

from credira.db.locked import write_locked
from credira.models import Callout
from tests.worker.harness import Db, Debt, new_debt, open_db


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Db]:
    async with open_db(database_url, tmp_path) as opened:
        yield opened


async def _callouts(db: Db, debt: Debt, count: int) -> list[str]:
    rows = [debt.callout() for _ in range(count)]
    await db.add(*rows)
    return [row.id for row in rows]


def _updates(db: Db) -> list[tuple[str, int]]:
    """Each ``UPDATE`` statement the engine sends, with its number of parameter sets."""
    seen: list[tuple[str, int]] = []

    def record(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("UPDATE"):
            seen.append((sql, len(params) if many else 1))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_changed_rows_are_written_one_statement_per_set_of_columns(db: Db) -> None:
    debt = await new_debt(db, zone="Europe/London")
    ids = await _callouts(db, debt, 5)
    later = datetime.now(UTC) + timedelta(hours=2)
    updates = _updates(db)
    async with db.sessions() as session:
        rows = {
            row.id: row
            for row in await session.scalars(
                select(Callout).where(Callout.id.in_(ids)).with_for_update()
            )
        }
        for callout_id in ids[:3]:
            rows[callout_id].status = "completed"
            rows[callout_id].status_reason = None
        rows[ids[3]].run_at = later
        rows[ids[3]].hold_reason = "promise_to_pay"
        await write_locked(session, rows.values())
        # Written rows leave the session; the unchanged one stays, and the commit writes
        # nothing more.
        assert rows[ids[0]] not in session
        assert rows[ids[4]] in session
        await session.commit()

    assert sorted(count for _, count in updates) == [1, 3]
    after = {callout_id: await db.get(Callout, callout_id) for callout_id in ids}
    assert [after[i].status for i in ids] == ["completed"] * 3 + ["scheduled"] * 2
    assert (after[ids[3]].run_at, after[ids[3]].hold_reason) == (later, "promise_to_pay")
    assert [after[i].version for i in ids] == [2, 2, 2, 2, 1]


async def test_a_writer_holding_an_older_copy_still_fails_its_version_check(db: Db) -> None:
    debt = await new_debt(db, zone="Europe/London")
    (callout_id,) = await _callouts(db, debt, 1)
    async with db.sessions() as stale:
        old_copy = await stale.get(Callout, callout_id)
        assert old_copy is not None
        await stale.commit()  # read, then let the other writer in

        async with db.sessions() as session:
            locked = await session.scalar(
                select(Callout).where(Callout.id == callout_id).with_for_update()
            )
            assert locked is not None
            locked.status = "cancelled"
            await write_locked(session, [locked])
            await session.commit()

        old_copy.priority = "urgent"
        with pytest.raises(StaleDataError):
            await stale.commit()
    assert (await db.get(Callout, callout_id)).status == "cancelled"
    assert (await db.get(Callout, callout_id)).priority == "medium"
