"""The floor: the same four endpoints as the baseline, written by hand on the raw driver.

What a careful engineer would write without a framework or an ORM, to see how fast a request
can be on this machine: bare Starlette served by the same ``uvicorn.run`` call as ``credira
serve`` (and the baseline), SQL written out once, the driver called directly.

- **SQLite**: the standard library's ``sqlite3`` on the event loop (a short read costs less than
  a hand-off to a thread). One connection per process for reads, one for writes, each with the
  pragmas ``credira.db.engine`` sets (WAL, ``synchronous=NORMAL``, foreign keys, no busy
  handler) and transaction control taken from the driver. Reads are single statements in
  autocommit (each its own snapshot, as WAL readers never wait). Writes take an ``asyncio`` lock,
  then ``BEGIN IMMEDIATE``; a lock held by another process (``SQLITE_BUSY``) is waited for with
  an ``asyncio`` sleep, never a sleep on the loop's thread. ``sqlite3`` keeps each statement
  prepared (its statement cache, keyed by the SQL text).
- **PostgreSQL**: an ``asyncpg`` pool of ``CREDIRA_DB_POOL_SIZE`` (20) connections; every
  statement is prepared once per connection (asyncpg's statement cache). Reads run in
  autocommit; the PUT's read and version-checked update, and the POST's checks and insert, run in
  one transaction each.

Each endpoint does the work the baseline does (``bench/baseline_app.py``): find the key by its
hash joined to its user, read or write the row(s) (the PUT reads then updates by version, the
POST checks the invoice and the agent, then inserts), build the documented callout object and
reply in the envelope with orjson. Instants are read and written as Credira keeps them (SQLite:
naive UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``; PostgreSQL: ``timestamptz``) and shown as the API
shows them (``2024-01-25T14:00:00Z``), so it reads and writes the same seeded rows.

Run: ``CREDIRA_DATABASE_URL=... python -m bench.floor_app --port 8102``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from credira.kit.ids import new_id

RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
# The callout object's columns, in the order ``public`` reads them.
COLUMNS = (
    "id, invoice_id, status, type, scheduled_time, created_time, updated_time, contact_name, "
    "contact_email, contact_phone, calls_enabled, emails_enabled, voice_agent_id, account_id, "
    "priority, metadata, status_reason, completed_time, version"
)
METADATA, VERSION = 15, 18
INSERTED = (
    "id, account_id, invoice_id, status, type, priority, priority_rank, scheduled_time, run_at, "
    "contact_name, contact_email, contact_phone, calls_enabled, emails_enabled, voice_agent_id, "
    "metadata, attempt_count, origin, consented, email_done, version, created_time, updated_time"
)


class Refused(Exception):
    """An answer other than success: its status and error code."""

    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code


def api_time_text(text: str | None) -> str | None:
    """SQLite's stored instant (``2024-01-25 14:00:00.000000``, UTC) as the API shows it."""
    return None if text is None else f"{text[:10]}T{text[11:19]}Z"


def api_time(value: datetime | None) -> str | None:
    """An aware instant (asyncpg gives them in UTC) as the API shows it."""
    return None if value is None else value.isoformat(timespec="seconds")[:-6] + "Z"


def public(row: Sequence[Any], time: Callable[[Any], str | None]) -> dict[str, Any]:
    """The documented callout object from a row of ``COLUMNS``."""
    data = {
        "id": row[0],
        "invoice_id": row[1],
        "status": row[2],
        "type": row[3],
        "scheduled_time": time(row[4]),
        "created_time": time(row[5]),
        "updated_time": time(row[6]),
        "target_contact": {"name": row[7], "email": row[8], "phone": row[9]},
        "actions": {
            "calls_enabled": bool(row[10]),
            "emails_enabled": bool(row[11]),
            "voice_agent_id": row[12],
        },
        "account_id": row[13],
        "priority": row[14],
        "metadata": orjson.loads(row[15]),
    }
    if row[16] is not None:
        data["status_reason"] = row[16]
    if row[17] is not None:
        data["completed_time"] = time(row[17])
    return data


class Store(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    # Each takes the hash of the request's key and finds its account first (401 when none).
    async def callout(self, key: str, callout_id: str) -> dict[str, Any] | None: ...
    async def callouts(self, key: str, invoice_id: str) -> list[dict[str, Any]] | None: ...
    async def update(self, key: str, callout_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def create(
        self, key: str, body: dict[str, Any], scheduled: datetime | None
    ) -> dict[str, Any]: ...


KEY_SQL = (
    "SELECT users.account_id, users.status FROM users JOIN api_keys "
    "ON api_keys.user_id = users.id WHERE api_keys.key_hash = {p1} "
    "AND api_keys.revoked_time IS NULL"
)
# The statements are built from this module's constants only (S608: no input reaches them).
CALLOUT_SQL = f"SELECT {COLUMNS} FROM callouts WHERE id = {{p1}} AND account_id = {{p2}}"  # noqa: S608
INVOICE_SQL = "SELECT id FROM invoices WHERE id = {p1} AND account_id = {p2}"
LIST_SQL = (
    f"SELECT {COLUMNS} FROM callouts WHERE account_id = {{p1}} AND invoice_id = {{p2}} "  # noqa: S608
    "ORDER BY id LIMIT 101"
)
UPDATE_SQL = (
    "UPDATE callouts SET metadata = {p1}, priority = {p2}, priority_rank = {p3}, "
    "updated_time = {p4}, version = {p5} WHERE id = {p6} AND version = {p7}"
)
POST_INVOICE_SQL = (
    "SELECT id, status, customer_name, customer_email, customer_phone FROM invoices "
    "WHERE id = {p1} AND account_id = {p2}"
)
AGENT_SQL = "SELECT id FROM voice_agents WHERE id = {p1} AND account_id = {p2}"
PLACES = ", ".join(f"{{p{n}}}" for n in range(1, INSERTED.count(",") + 2))
INSERT_SQL = f"INSERT INTO callouts ({INSERTED}) VALUES ({PLACES})"  # noqa: S608


def sql(template: str, style: str) -> str:
    """A statement with ``?`` (SQLite) or ``$n`` (PostgreSQL) placeholders."""
    return template.format(**{f"p{n}": "?" if style == "?" else f"${n}" for n in range(1, 30)})


def patched(row: Sequence[Any], body: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """The PUT's new metadata, priority and rank (409 unless the callout is scheduled)."""
    if row[2] != "scheduled":
        raise Refused(409, "CONFLICT")
    priority = body.get("priority", row[14])
    return {**orjson.loads(row[METADATA]), **body.get("metadata", {})}, priority, RANK[priority]


# SQLITE_BUSY and SQLITE_BUSY_RECOVERY: nothing was done, the statement may run again.
BUSY = frozenset({5, 261})


class SQLiteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = asyncio.Lock()
        self.q = {name: sql(text, "?") for name, text in STATEMENTS.items()}

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=0",
        ):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    async def open(self) -> None:
        self.reader, self.writer = self._connect(), self._connect()

    async def close(self) -> None:
        self.reader.close()
        self.writer.close()

    async def _run(self, conn: sqlite3.Connection, query: str, args: Sequence[Any]) -> list[Any]:
        wait = 0.001
        while True:
            try:
                return conn.execute(query, args).fetchall()
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in BUSY or wait > 15:
                    raise
            await asyncio.sleep(wait)
            wait *= 2

    async def _account(self, key: str) -> str:
        rows = await self._run(self.reader, self.q["key"], (key,))
        return active(rows[0] if rows else None)

    async def callout(self, key: str, callout_id: str) -> dict[str, Any] | None:
        account = await self._account(key)
        rows = await self._run(self.reader, self.q["callout"], (callout_id, account))
        return public(rows[0], api_time_text) if rows else None

    async def callouts(self, key: str, invoice_id: str) -> list[dict[str, Any]] | None:
        account = await self._account(key)
        if not await self._run(self.reader, self.q["invoice"], (invoice_id, account)):
            return None
        rows = await self._run(self.reader, self.q["list"], (account, invoice_id))
        return [public(r, api_time_text) for r in rows]

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[sqlite3.Connection]:
        async with self.lock:
            await self._run(self.writer, "BEGIN IMMEDIATE", ())
            try:
                yield self.writer
            except BaseException:
                self.writer.execute("ROLLBACK")
                raise
            self.writer.execute("COMMIT")

    async def update(self, key: str, callout_id: str, body: dict[str, Any]) -> dict[str, Any]:
        account = await self._account(key)
        async with self._writing() as conn:
            row = conn.execute(self.q["callout"], (callout_id, account)).fetchone()
            if row is None:
                raise Refused(404, "NOT_FOUND")
            metadata, priority, rank = patched(row, body)
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            done = conn.execute(
                self.q["update"],
                (
                    orjson.dumps(metadata).decode(),
                    priority,
                    rank,
                    now,
                    row[VERSION] + 1,
                    row[0],
                    row[VERSION],
                ),
            )
            if done.rowcount != 1:
                raise Refused(409, "CONFLICT")
        out = public(row, api_time_text)
        out.update(metadata=metadata, priority=priority, updated_time=api_time_text(now))
        return out

    async def create(
        self, key: str, body: dict[str, Any], scheduled: datetime | None
    ) -> dict[str, Any]:
        agent_id = (body.get("actions") or {}).get("voice_agent_id")
        account = await self._account(key)
        async with self._writing() as conn:
            invoice = conn.execute(self.q["post_invoice"], (body["invoice_id"], account)).fetchone()
            if invoice is None:
                raise Refused(404, "NOT_FOUND")
            if invoice[1] != "open":
                raise Refused(409, "CONFLICT")
            if (
                agent_id is not None
                and not conn.execute(self.q["agent"], (agent_id, account)).fetchone()
            ):
                raise Refused(404, "NOT_FOUND")
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            when = (
                scheduled.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
                if scheduled
                else now
            )
            row = new_row(account, invoice, body, agent_id, when, now)
            conn.execute(self.q["insert"], row)
        return created(row, api_time_text)


def new_row(
    account: str, invoice: Sequence[Any], body: dict[str, Any], agent: Any, when: Any, now: Any
) -> tuple[Any, ...]:
    """A new callout's values in ``INSERTED``'s order."""
    priority = body.get("priority", "medium")
    return (
        new_id("callout"),
        account,
        invoice[0],
        "scheduled",
        body.get("type", "payment_reminder"),
        priority,
        RANK[priority],
        when,
        when,
        invoice[2],
        invoice[3],
        invoice[4],
        True,
        False,
        agent,
        orjson.dumps(body.get("metadata", {})).decode(),
        0,
        "api",
        False,
        False,
        1,
        now,
        now,
    )


def created(row: tuple[Any, ...], time: Callable[[Any], str | None]) -> dict[str, Any]:
    """The object of a callout just inserted (``new_row``'s values)."""
    return public([None if at is None else row[at] for at in CREATED], time)


# Where each of ``COLUMNS`` is in ``new_row``'s values (None: not set on a new callout).
CREATED = (0, 2, 3, 4, 7, 21, 22, 9, 10, 11, 12, 13, 14, 1, 5, 15, None, None, 20)


class PostgresStore:
    def __init__(self, url: str, pool_size: int) -> None:
        self.url, self.pool_size = url, pool_size
        self.q = {name: sql(text, "$") for name, text in STATEMENTS.items()}

    async def open(self) -> None:
        self.pool = await asyncpg.create_pool(
            self.url, min_size=self.pool_size, max_size=self.pool_size
        )

    async def close(self) -> None:
        await self.pool.close()

    async def _account(self, conn: Any, key: str) -> str:
        return active(await conn.fetchrow(self.q["key"], key))

    async def callout(self, key: str, callout_id: str) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            account = await self._account(conn, key)
            row = await conn.fetchrow(self.q["callout"], callout_id, account)
        return None if row is None else public(row, api_time)

    async def callouts(self, key: str, invoice_id: str) -> list[dict[str, Any]] | None:
        async with self.pool.acquire() as conn:
            account = await self._account(conn, key)
            if await conn.fetchrow(self.q["invoice"], invoice_id, account) is None:
                return None
            rows = await conn.fetch(self.q["list"], account, invoice_id)
        return [public(r, api_time) for r in rows]

    async def update(self, key: str, callout_id: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            account = await self._account(conn, key)
            async with conn.transaction():
                row = await conn.fetchrow(self.q["callout"], callout_id, account)
                if row is None:
                    raise Refused(404, "NOT_FOUND")
                metadata, priority, rank = patched(row, body)
                now = datetime.now(UTC)
                done = await conn.execute(
                    self.q["update"],
                    orjson.dumps(metadata).decode(),
                    priority,
                    rank,
                    now,
                    row[VERSION] + 1,
                    row[0],
                    row[VERSION],
                )
                if done != "UPDATE 1":
                    raise Refused(409, "CONFLICT")
        out = public(row, api_time)
        out.update(metadata=metadata, priority=priority, updated_time=api_time(now))
        return out

    async def create(
        self, key: str, body: dict[str, Any], scheduled: datetime | None
    ) -> dict[str, Any]:
        agent_id = (body.get("actions") or {}).get("voice_agent_id")
        async with self.pool.acquire() as conn:
            account = await self._account(conn, key)
            async with conn.transaction():
                invoice = await conn.fetchrow(self.q["post_invoice"], body["invoice_id"], account)
                if invoice is None:
                    raise Refused(404, "NOT_FOUND")
                if invoice[1] != "open":
                    raise Refused(409, "CONFLICT")
                if agent_id is not None and not await conn.fetchrow(
                    self.q["agent"], agent_id, account
                ):
                    raise Refused(404, "NOT_FOUND")
                now = datetime.now(UTC)
                row = new_row(account, invoice, body, agent_id, scheduled or now, now)
                await conn.execute(self.q["insert"], *row)
        return created(row, api_time)


STATEMENTS = {
    "key": KEY_SQL,
    "callout": CALLOUT_SQL,
    "invoice": INVOICE_SQL,
    "list": LIST_SQL,
    "update": UPDATE_SQL,
    "post_invoice": POST_INVOICE_SQL,
    "agent": AGENT_SQL,
    "insert": INSERT_SQL,
}


def store_for(url: str) -> Store:
    """The store for a SQLAlchemy URL as Credira takes it (``sqlite+aiosqlite:///path``,
    ``postgresql+asyncpg://...``)."""
    if url.startswith("sqlite"):
        return SQLiteStore(url.split(":///", 1)[1])
    plain = url.replace("+asyncpg", "", 1)
    return PostgresStore(plain, int(os.environ.get("CREDIRA_DB_POOL_SIZE", "20")))


class State:
    store: Store


state = State()


def reply(data: Any, status: int = 200, **meta: Any) -> Response:
    body = {
        "success": True,
        "data": data,
        "meta": {
            "timestamp": datetime.now(UTC),
            "request_id": "req_" + secrets.token_hex(8),
            **meta,
        },
    }
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z), status, media_type="application/json"
    )


def fail(status: int, code: str) -> Response:
    body = {"success": False, "error": {"code": code, "message": code}}
    return Response(orjson.dumps(body), status, media_type="application/json")


def key_of(request: Request) -> str:
    """The hash of the request's bearer key, as Credira keeps keys."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    return hashlib.sha256(token.encode()).hexdigest()


def active(row: Sequence[Any] | None) -> str:
    """The account of a key's row (its user's account and status), or 401."""
    if row is None or row[1] != "active":
        raise Refused(401, "UNAUTHORIZED")
    return str(row[0])


async def body_of(request: Request) -> dict[str, Any]:
    """The request's JSON object: malformed JSON or another value is the API's 400, a field of
    the wrong kind its 422."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise Refused(400, "INVALID_REQUEST") from None
    if not isinstance(body, dict):
        raise Refused(400, "INVALID_REQUEST")
    if not isinstance(body.get("metadata", {}), dict) or body.get("priority", "low") not in RANK:
        raise Refused(422, "VALIDATION_ERROR")
    return body


def refusals(
    handler: Callable[[Request], Any],
) -> Callable[[Request], Any]:
    async def run(request: Request) -> Response:
        try:
            response: Response = await handler(request)
        except Refused as refused:
            return fail(refused.status, refused.code)
        return response

    return run


@refusals
async def get_callout(request: Request) -> Response:
    data = await state.store.callout(key_of(request), request.path_params["callout_id"])
    return fail(404, "NOT_FOUND") if data is None else reply(data)


@refusals
async def list_callouts(request: Request) -> Response:
    invoice_id = request.query_params.get("invoice_id")
    if not invoice_id:
        return fail(400, "INVALID_REQUEST")
    items = await state.store.callouts(key_of(request), invoice_id)
    if items is None:
        return fail(404, "NOT_FOUND")
    return reply(items[:100], total_callouts=min(len(items), 100), has_more=len(items) > 100)


@refusals
async def update_callout(request: Request) -> Response:
    body = await body_of(request)
    data = await state.store.update(key_of(request), request.path_params["callout_id"], body)
    return reply(data, message="Callout updated successfully")


@refusals
async def create_callout(request: Request) -> Response:
    body = await body_of(request)
    if not isinstance(body.get("invoice_id"), str):
        return fail(422, "VALIDATION_ERROR")
    try:
        scheduled = (
            datetime.fromisoformat(body["scheduled_time"]) if body.get("scheduled_time") else None
        )
    except (TypeError, ValueError):
        return fail(422, "VALIDATION_ERROR")
    if scheduled is not None and scheduled.tzinfo is None:
        return fail(422, "VALIDATION_ERROR")
    data = await state.store.create(key_of(request), body, scheduled)
    return reply(data, 201, message="Callout created successfully")


async def health(request: Request) -> Response:
    return reply({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    state.store = store_for(os.environ["CREDIRA_DATABASE_URL"])
    await state.store.open()
    try:
        yield
    finally:
        await state.store.close()


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/v1/callouts", list_callouts, methods=["GET"]),
        Route("/v1/callouts", create_callout, methods=["POST"]),
        Route("/v1/callouts/{callout_id}", get_callout, methods=["GET"]),
        Route("/v1/callouts/{callout_id}", update_callout, methods=["PUT"]),
    ],
    lifespan=lifespan,
)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    args = parser.parse_args()
    # The same uvicorn call as `credira serve` (credira/cli.py) and the baseline.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
