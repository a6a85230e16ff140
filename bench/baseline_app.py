"""The baseline: a bare Starlette app doing the same database work as Credira's endpoints.

Same server (uvicorn, started like ``credira serve``), same driver and engine settings
(``credira.db.engine.create_engine``: SQLAlchemy async core over aiosqlite or asyncpg, SQLite
WAL and ``BEGIN IMMEDIATE`` for writes), the same tables and column types. Each endpoint does
what a correct implementation cannot skip: look the key up by its hash, read or write the rows,
build the documented object and reply in the envelope. No dependency injection, no Pydantic, no
middleware, no idempotency, ETag or permission machinery.

Run: ``CREDIRA_DATABASE_URL=... python -m bench.baseline_app --port 8101``.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from credira.config import Settings
from credira.db.engine import WRITE_OPTION, create_engine
from credira.kit.ids import new_id
from credira.models import ApiKey, Callout, Invoice, User, VoiceAgent

callouts = cast(Table, Callout.__table__)
invoices = cast(Table, Invoice.__table__)
keys = cast(Table, ApiKey.__table__)
users = cast(Table, User.__table__)
agents = cast(Table, VoiceAgent.__table__)
RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}


class State:
    engine: AsyncEngine
    writer: AsyncEngine


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


async def account_of(conn: Any, request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    row = (
        await conn.execute(
            select(users.c.account_id, users.c.status, users.c.permissions)
            .join(keys, keys.c.user_id == users.c.id)
            .where(
                keys.c.key_hash == hashlib.sha256(token.encode()).hexdigest(),
                keys.c.revoked_time.is_(None),
            )
        )
    ).first()
    if row is None or row.status != "active":
        return None
    return str(row.account_id)


def public(row: Row[Any] | dict[str, Any]) -> dict[str, Any]:
    c = row if isinstance(row, dict) else row._mapping
    data = {
        "id": c["id"],
        "invoice_id": c["invoice_id"],
        "status": c["status"],
        "type": c["type"],
        "scheduled_time": c["scheduled_time"],
        "created_time": c["created_time"],
        "updated_time": c["updated_time"],
        "target_contact": {
            "name": c["contact_name"],
            "email": c["contact_email"],
            "phone": c["contact_phone"],
        },
        "actions": {
            "calls_enabled": c["calls_enabled"],
            "emails_enabled": c["emails_enabled"],
            "voice_agent_id": c["voice_agent_id"],
        },
        "account_id": c["account_id"],
        "priority": c["priority"],
        "metadata": c["metadata"],
    }
    if c["status_reason"] is not None:
        data["status_reason"] = c["status_reason"]
    if c["completed_time"] is not None:
        data["completed_time"] = c["completed_time"]
    return data


async def get_callout(request: Request) -> Response:
    async with state.engine.connect() as conn:
        account = await account_of(conn, request)
        if account is None:
            return fail(401, "UNAUTHORIZED")
        row = (
            await conn.execute(
                select(callouts).where(
                    callouts.c.id == request.path_params["callout_id"],
                    callouts.c.account_id == account,
                )
            )
        ).first()
    if row is None:
        return fail(404, "NOT_FOUND")
    return reply(public(row))


async def list_callouts(request: Request) -> Response:
    invoice_id = request.query_params.get("invoice_id")
    if not invoice_id:
        return fail(400, "INVALID_REQUEST")
    async with state.engine.connect() as conn:
        account = await account_of(conn, request)
        if account is None:
            return fail(401, "UNAUTHORIZED")
        found = await conn.scalar(
            select(invoices.c.id).where(
                invoices.c.id == invoice_id, invoices.c.account_id == account
            )
        )
        if found is None:
            return fail(404, "NOT_FOUND")
        rows = (
            await conn.execute(
                select(callouts)
                .where(callouts.c.account_id == account, callouts.c.invoice_id == invoice_id)
                .order_by(callouts.c.id)
                .limit(101)
            )
        ).all()
    items = [public(r) for r in rows[:100]]
    return reply(items, total_callouts=len(items), has_more=len(rows) > 100)


async def update_callout(request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
        return fail(422, "VALIDATION_ERROR")
    async with state.writer.connect() as conn:
        account = await account_of(conn, request)
        if account is None:
            return fail(401, "UNAUTHORIZED")
        row = (
            await conn.execute(
                select(callouts).where(
                    callouts.c.id == request.path_params["callout_id"],
                    callouts.c.account_id == account,
                )
            )
        ).first()
        if row is None:
            return fail(404, "NOT_FOUND")
        if row.status != "scheduled":
            return fail(409, "CONFLICT")
        values: dict[str, Any] = {
            "metadata": {**row.metadata, **body.get("metadata", {})},
            "updated_time": datetime.now(UTC),
            "version": row.version + 1,
        }
        if "priority" in body:
            values["priority"] = body["priority"]
            values["priority_rank"] = RANK[body["priority"]]
        done = await conn.execute(
            update(callouts)
            .where(callouts.c.id == row.id, callouts.c.version == row.version)
            .values(**values)
        )
        if done.rowcount != 1:
            return fail(409, "CONFLICT")
        await conn.commit()
    return reply(public({**row._mapping, **values}), message="Callout updated successfully")


async def create_callout(request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict) or not isinstance(body.get("invoice_id"), str):
        return fail(422, "VALIDATION_ERROR")
    agent_id = (body.get("actions") or {}).get("voice_agent_id")
    scheduled = (
        datetime.fromisoformat(body["scheduled_time"]) if body.get("scheduled_time") else None
    )
    async with state.writer.connect() as conn:
        account = await account_of(conn, request)
        if account is None:
            return fail(401, "UNAUTHORIZED")
        invoice = (
            await conn.execute(
                select(invoices).where(
                    invoices.c.id == body["invoice_id"], invoices.c.account_id == account
                )
            )
        ).first()
        if invoice is None:
            return fail(404, "NOT_FOUND")
        if invoice.status != "open":
            return fail(409, "CONFLICT")
        if agent_id is not None:
            found = await conn.scalar(
                select(agents.c.id).where(agents.c.id == agent_id, agents.c.account_id == account)
            )
            if found is None:
                return fail(404, "NOT_FOUND")
        now = datetime.now(UTC)
        values = {
            "id": new_id("callout"),
            "account_id": account,
            "invoice_id": invoice.id,
            "status": "scheduled",
            "type": body.get("type", "payment_reminder"),
            "priority": body.get("priority", "medium"),
            "priority_rank": RANK[body.get("priority", "medium")],
            "scheduled_time": scheduled or now,
            "run_at": scheduled or now,
            "contact_name": invoice.customer_name,
            "contact_email": invoice.customer_email,
            "contact_phone": invoice.customer_phone,
            "calls_enabled": True,
            "emails_enabled": False,
            "voice_agent_id": agent_id,
            "metadata": body.get("metadata", {}),
            "status_reason": None,
            "completed_time": None,
            "attempt_count": 0,
            "origin": "api",
            "consented": False,
            "email_done": False,
            "version": 1,
            "created_time": now,
            "updated_time": now,
        }
        await conn.execute(insert(callouts).values(**values))
        await conn.commit()
    return reply(public(values), 201, message="Callout created successfully")


async def health(request: Request) -> Response:
    return reply({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = Settings()
    state.engine = create_engine(settings)
    state.writer = state.engine.execution_options(**{WRITE_OPTION: True})
    try:
        yield
    finally:
        await state.engine.dispose()


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
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()
    # The same uvicorn call as `credira serve` (credira/cli.py).
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
