"""The worker's writes of call rows, as rows (no ORM objects), each status written followed by
its event (``call.state``) in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.call import repository as calls
from credira.call import state as call_state
from credira.models import Call


def _call_of(row: dict[str, Any]) -> Call:
    """A call row (by column) as an unsaved ``Call``, for its event's data."""
    fields = {("metadata_" if k == "metadata" else k): v for k, v in row.items()}
    return Call(**fields)


async def insert_attempts(
    session: AsyncSession, rows: Sequence[dict[str, Any]], public_url: str, now: datetime
) -> None:
    """New attempts (``call.state.initiated_row``) in one statement, with their events."""
    if not rows:
        return
    await calls.insert_rows(session, rows)
    for row in rows:
        call_state.event(session, _call_of(row), public_url, now)


async def write_changes(
    session: AsyncSession, rows: Sequence[dict[str, object]], public_url: str, now: datetime
) -> None:
    """Changes of calls, each row a call's ``id`` and the columns it sets (``calls.update_rows``);
    then the events of those whose status changed, each with the call as it now is (one query
    for all of them), and ``call.opted_out`` after a call whose debtor asked not to be called
    again (its number is suppressed in this transaction)."""
    await calls.update_rows(session, rows)
    changed = [row["id"] for row in rows if "status" in row]
    if not changed:
        return
    for call in await calls.by_ids(session, [str(call_id) for call_id in changed]):
        call_state.event(session, call, public_url, now)
        if call.outcome == "opt_out":
            call_state.opted_out(session, call, public_url, now)


async def write_progress(
    session: AsyncSession, rows: Sequence[dict[str, object]], public_url: str, now: datetime
) -> None:
    """What providers reported of calls in progress (``write_changes``), checked against each
    call's status as it is now, under its row lock: a report that would not move a call
    forward (late, repeated, or about a call another worker has concluded meanwhile) is
    dropped whole, so a finished call never goes back to ``in_progress`` nor gets a second
    event."""
    reported = [str(row["id"]) for row in rows if "status" in row]
    current = await calls.lock_statuses(session, reported)
    kept: list[dict[str, object]] = []
    for row in rows:
        status = row.get("status")
        if status is None:
            kept.append(row)
            continue
        shown = current.get(str(row["id"]))
        if shown is not None and call_state.may_move(shown, call_state.CallStatus(str(status))):
            kept.append(row)
    await write_changes(session, kept, public_url, now)
