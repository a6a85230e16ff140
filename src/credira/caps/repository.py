"""All SQL of the daily cost caps: an account's per-day counts of calls placed and emails
sent, taken against a cap (one at a time, or several at once for a batch of decisions), and the
counts they start from.

A taker holds what it counted until its transaction ends (a rollback gives the count back), so
with one counter row every dial of an account would wait for the transaction before it to
commit. On PostgreSQL a day's count is therefore the sum of a few stripes (rows), each with
its share of the cap (the shares add up to the cap): a taker counts on any stripe under its
share that no one else holds (``FOR UPDATE SKIP LOCKED``), so up to that many dials of one
account are decided at once and the total stays within the cap. When every stripe with room is
held, the taker looks again a moment later; when every stripe is at its share, the cap is
reached. After the cap was lowered the shares no longer fit the counts: the taker then holds
all stripes, in order, and decides on their exact sum. SQLite serialises writers anyway: one
stripe, whose share is the cap.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, case, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from credira.db.dialect import dialect_name
from credira.models import Call, DailyUsage, Email

CALL = "call"
EMAIL = "email"
STRIPES = 32  # on PostgreSQL: up to this many of an account's dials are decided at once
ROUNDS = 50  # looks at stripes held by others, RETRY_SECONDS apart, before waiting for them
RETRY_SECONDS = 0.01
KEPT_DAYS = 7  # counters older than this are removed when an account starts a new day


def _stripes(session: AsyncSession) -> int:
    return STRIPES if dialect_name(session) == "postgresql" else 1


def _day(table: Any, account_id: Any, day: Any, kind: Any) -> list[ColumnElement[bool]]:
    return [table.account_id == account_id, table.day == day, table.kind == kind]


def _budget(table: Any) -> ColumnElement[int]:
    """A stripe's share of the cap: the cap split evenly (``share``), plus one for the first
    ``rest`` stripes."""
    rest = bindparam("rest", type_=Integer)
    return bindparam("share", type_=Integer) + case((table.stripe < rest, 1), else_=0)


def _room_for(table: Any) -> ColumnElement[bool]:
    """The stripe has room for ``count`` more within its share."""
    room: ColumnElement[bool] = table.used + bindparam("count", type_=Integer) <= _budget(table)
    return room


def _share(stripe: int, cap: int, stripes: int) -> int:
    share, rest = divmod(cap, stripes)
    return share + (1 if stripe < rest else 0)


async def take(
    session: AsyncSession, account_id: str, kind: str, since: datetime, cap: int
) -> bool:
    """Count one more call (or email) on the account's day starting at ``since``, if that keeps
    the day within ``cap``; whether it was counted. The count is held until the caller's
    transaction ends: call it just before the commit."""
    day = since.date()
    stripes = _stripes(session)
    if await _take_free(session, account_id, day, kind, cap, stripes):
        return True
    for _ in range(ROUNDS):
        seen = await _stripes_of(session, account_id, day, kind)
        if not seen:
            await _start(session, account_id, day, kind, since, cap, stripes)
        else:
            room = [_share(stripe, cap, stripes) - used for stripe, used in seen.items()]
            if min(room) < 0:  # the cap was lowered below what some stripes count
                return await _take_exactly(session, account_id, day, kind, cap, stripes)
            if max(room) <= 0:
                return False  # every stripe at its share: the day's cap is reached
            # The stripes with room are held by takers still deciding, who commit in a moment.
            # Look again then rather than wait for one: a taker whose statement lost a race
            # can hold a full stripe, and takers that hold one stripe and wait for another
            # could wait for each other.
            await asyncio.sleep(RETRY_SECONDS)
        if await _take_free(session, account_id, day, kind, cap, stripes):
            return True
    # Held all along (by slow transactions): wait for them, holding every stripe in order.
    return await _take_exactly(session, account_id, day, kind, cap, stripes)


async def take_up_to(
    session: AsyncSession, account_id: str, kind: str, since: datetime, cap: int, wanted: int
) -> tuple[int, bool]:
    """Count up to ``wanted`` more, as ``take`` counts one, in as few statements as the stripes'
    room allows: how many were counted, and whether the rest would pass the cap.

    Fewer may be counted without the cap being reached: a taker that holds stripes never waits
    for others' (they may be waiting for its own, and takers holding all stripes take them in
    order). Then the rest is undecided: ask again in a new transaction.
    """
    day = since.date()
    stripes = _stripes(session)
    counted = 0
    step = wanted
    while counted < wanted:
        count = min(step, wanted - counted)
        if await _take_free(session, account_id, day, kind, cap, stripes, count):
            counted += count
        elif count > 1:
            step = count // 2  # no stripe free with that much room: smaller steps
        elif counted:
            # What others hold and have not committed can only add to what is seen here.
            seen = await _stripes_of(session, account_id, day, kind)
            full = all(used >= _share(stripe, cap, stripes) for stripe, used in seen.items())
            return counted, full or sum(seen.values()) >= cap
        elif await take(session, account_id, kind, since, cap):  # holds nothing: may wait
            counted += 1
        else:
            return counted, True
    return counted, False


async def used(session: AsyncSession, account_id: str, kind: str, since: datetime) -> int:
    """How many calls (or emails) the account's day starting at ``since`` counts, without
    counting one more."""
    day = since.date()
    conditions = _day(DailyUsage, account_id, day, kind)
    found = await session.scalar(select(func.sum(DailyUsage.used)).where(*conditions))
    if found is not None:
        return int(found)
    return await _recorded(session, account_id, kind, since)


async def _take_free(
    session: AsyncSession,
    account_id: str,
    day: date,
    kind: str,
    cap: int,
    stripes: int,
    count: int = 1,
) -> bool:
    """One conditional ``UPDATE`` of a stripe with room for ``count`` more under its share that
    no one else holds, while every stripe is within its share."""
    taken = await session.execute(
        _taking(stripes > 1), {**_params(account_id, day, kind, cap, stripes), "count": count}
    )
    return taken.first() is not None


async def _take_exactly(
    session: AsyncSession, account_id: str, day: date, kind: str, cap: int, stripes: int
) -> bool:
    """Hold every stripe of the day (in order, as every taker that holds several does) and
    count on the one with most room if their sum is under ``cap``."""
    held = (
        await session.execute(
            select(DailyUsage.stripe, DailyUsage.used)
            .where(*_day(DailyUsage, account_id, day, kind))
            .order_by(DailyUsage.stripe)
            .with_for_update()
        )
    ).all()
    if not held or sum(used for _, used in held) >= cap:
        return False
    # A lowered cap can leave every stripe at or over its share while the sum is under the
    # cap: then the least used one.
    stripe = max(held, key=lambda row: (_share(row[0], cap, stripes) - row[1], -row[1]))[0]
    await session.execute(
        update(DailyUsage)
        .where(*_day(DailyUsage, account_id, day, kind), DailyUsage.stripe == stripe)
        .values(used=DailyUsage.used + 1)
        .execution_options(synchronize_session=False)
    )
    return True


async def _stripes_of(
    session: AsyncSession, account_id: str, day: date, kind: str
) -> dict[int, int]:
    rows = await session.execute(
        select(DailyUsage.stripe, DailyUsage.used).where(*_day(DailyUsage, account_id, day, kind))
    )
    return {stripe: used for stripe, used in rows.all()}


def _params(account_id: str, day: date, kind: str, cap: int, stripes: int) -> dict[str, object]:
    share, rest = divmod(cap, stripes)
    return {"p_account": account_id, "p_day": day, "p_kind": kind, "share": share, "rest": rest}


def _this_day(table: Any) -> list[ColumnElement[bool]]:
    return _day(table, bindparam("p_account"), bindparam("p_day"), bindparam("p_kind"))


@functools.cache
def _taking(striped: bool) -> Any:
    """The statement of ``_take_free``, built once (it is the hot one)."""
    if not striped:
        target: ColumnElement[bool] = DailyUsage.stripe == 0
    else:
        other = aliased(DailyUsage)
        over = exists().where(*_this_day(other), other.used > _budget(other))
        free = (
            select(DailyUsage.stripe)
            .where(*_this_day(DailyUsage), _room_for(DailyUsage), ~over)
            .order_by(func.random())
            .limit(1)
            .with_for_update(skip_locked=True)
            .cte("free")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        target = DailyUsage.stripe.in_(select(free.c.stripe))
    return (
        update(DailyUsage)
        .where(*_this_day(DailyUsage), target, _room_for(DailyUsage))
        .values(used=DailyUsage.used + bindparam("count", type_=Integer))
        .returning(DailyUsage.stripe)
        .execution_options(synchronize_session=False)
    )


async def _start(
    session: AsyncSession,
    account_id: str,
    day: date,
    kind: str,
    since: datetime,
    cap: int,
    stripes: int,
) -> None:
    """Write the day's stripes (unless a concurrent transaction did), counting what is already
    recorded that day, each stripe filled up to its share; and forget old days."""
    left = await _recorded(session, account_id, kind, since)
    counts = []
    for stripe in range(stripes):
        counts.append(min(_share(stripe, cap, stripes), left))
        left -= counts[-1]
    counts[0] += left  # over the cap already: the first stripe carries the excess
    rows = [
        {"account_id": account_id, "day": day, "kind": kind, "stripe": stripe, "used": used}
        for stripe, used in enumerate(counts)
    ]
    insert = _insert(session)
    await session.execute(insert(DailyUsage).values(rows).on_conflict_do_nothing())
    await session.execute(
        delete(DailyUsage)
        .where(
            DailyUsage.account_id == account_id,
            DailyUsage.kind == kind,
            DailyUsage.day < day - timedelta(days=KEPT_DAYS),
        )
        .execution_options(synchronize_session=False)
    )


def _insert(session: AsyncSession) -> Any:
    return pg_insert if dialect_name(session) == "postgresql" else sqlite_insert


async def _recorded(session: AsyncSession, account_id: str, kind: str, since: datetime) -> int:
    """Calls placed (emails first sent) since ``since``, as the calls and emails tables say."""
    if kind == CALL:
        query = select(func.count()).where(Call.account_id == account_id, Call.placed_time >= since)
    else:
        query = select(func.count()).where(Email.account_id == account_id, Email.sent_time >= since)
    return int(await session.scalar(query) or 0)
