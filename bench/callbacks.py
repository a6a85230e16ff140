"""What a signed provider callback costs: Twilio status callbacks per second on one
``credira serve`` process, beside ``GET /v1/callouts/{id}`` on the same server in the same run.

Each callback is the whole path a real one takes: the call's row read, the account's
credentials decrypted, the ``X-Twilio-Signature`` checked (HMAC-SHA1 over the public URL and
the sorted parameters), and the report merged into the row under its lock. The call has
ended already, so every callback is a repeat that changes nothing (the common case: Twilio
repeats, and late ones come after the end); the ratio to the ``GET`` is the headline.

    python -m bench.callbacks [--quick] [--db sqlite|postgresql|both] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.dbs import Database, fresh_database, postgres_available
from bench.servers import ADMIN_KEY, Server, load, ready, spawn_credira
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.kit.ids import new_id
from credira.models import Call, ProviderCall

PUBLIC_URL = "https://credira.bench.example"
SID = "AC" + "b" * 32
TOKEN = "c" * 32


def _call(server: Server, method: str, path: str, key: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - our own server
        return json.loads(reply.read())["data"]


async def _ended_call(db: Database, account_id: str, invoice_id: str, callout_id: str) -> str:
    """A Twilio call that has ended, as the worker and the callbacks leave it."""
    engine = create_engine(Settings(database_url=db.url, data_dir=db.data_dir))
    now = datetime.now(UTC)
    call_id = new_id("call")
    try:
        async with create_sessionmaker(engine)() as session:
            fields: dict[str, Any] = {
                "id": call_id,
                "account_id": account_id,
                "invoice_id": invoice_id,
                "callout_id": callout_id,
                "attempt_id": new_id("attempt"),
                "attempt_number": 1,
                "idempotency_key": f"{callout_id}:call:1",
                "provider": "twilio",
                "to_number": "+14155550100",
                "status": "completed",
                "call_purpose": "payment_reminder",
                "scheduled_time": now,
                "metadata_": {},
                "created_time": now,
                "updated_time": now,
            }
            session.add(Call(**fields))
            await session.flush()
            session.add(
                ProviderCall(
                    idempotency_key=f"{callout_id}:call:1",
                    call_id=call_id,
                    account_id=account_id,
                    provider="twilio",
                    provider_call_id="CA" + "d" * 32,
                    to_number="+14155550100",
                    from_number="+14155550123",
                    script="Hello.",
                    language="en-US",
                    voice="default",
                    reported="completed",
                    duration=42,
                    dial_time=now,
                    heard_time=now,
                )
            )
            await session.commit()
    finally:
        await engine.dispose()
    return call_id


def run(kind: str, cfg: dict[str, Any], logs: Path) -> dict[str, Any]:
    with fresh_database(kind, "callbacks") as db:
        server = spawn_credira(
            db,
            logs,
            CREDIRA_PUBLIC_URL=PUBLIC_URL,
            CREDIRA_RATE_LIMIT_PER_KEY="",
            CREDIRA_RATE_LIMIT_PER_ACCOUNT="",
        )
        try:
            ready(server)
            user = _call(
                server,
                "POST",
                "/v1/users",
                ADMIN_KEY,
                {
                    "email": "b@x.example",
                    "name": "B",
                    "company": "Bench",
                    "permissions": [
                        "users:write",
                        "users:read",
                        "invoices:write",
                        "voice_agents:write",
                        "callouts:write",
                        "callouts:read",
                        "calls:write",
                    ],
                },
            )
            key = user["api_key"]
            twilio = {"account_sid": SID, "auth_token": TOKEN}
            _call(server, "PUT", "/v1/account/providers/twilio", key, twilio)
            customer = {"name": "Ann", "phone": "+14155550100", "timezone": "America/New_York"}
            invoice = _call(
                server,
                "POST",
                "/v1/invoices",
                key,
                {
                    "number": "INV-1",
                    "amount": "10.00",
                    "currency": "USD",
                    "due_date": "2024-01-30",
                    "customer": customer,
                },
            )
            agent = _call(server, "POST", "/v1/voice-agents", key, {"name": "A"})
            callout = _call(
                server,
                "POST",
                "/v1/callouts",
                key,
                {
                    "invoice_id": invoice["id"],
                    "scheduled_time": "2099-01-01T10:00:00Z",
                    "actions": {"voice_agent_id": agent["id"]},
                },
            )
            call_id = asyncio.run(_ended_call(db, user["account_id"], invoice["id"], callout["id"]))
            path = f"/hooks/twilio/calls/{call_id}/status"
            params = {
                "AccountSid": SID,
                "CallSid": "CA" + "d" * 32,
                "CallStatus": "completed",
                "CallDuration": "42",
                "SequenceNumber": "3",
            }
            signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, params)
            base = {"host": "127.0.0.1", "port": server.port, **cfg}
            callback = load(
                {
                    **base,
                    "headers": {"X-Twilio-Signature": signature},
                    "requests": [
                        {
                            "method": "POST",
                            "path": path,
                            "body": urlencode(params),
                            "content_type": "application/x-www-form-urlencoded",
                        }
                    ],
                }
            )
            get = load(
                {
                    **base,
                    "headers": {"Authorization": f"Bearer {key}"},
                    "requests": [{"method": "GET", "path": f"/v1/callouts/{callout['id']}"}],
                }
            )
        finally:
            server.stop()
    for name, result in (("callback", callback), ("get", get)):
        if result["errors"]:
            raise RuntimeError(f"{name}: {result['errors']} errors, {result['error_sample']}")
    return {
        "db": kind,
        "callback_rps": round(callback["rps"], 1),
        "callback_p99_ms": round(callback["p99_ms"], 2),
        "get_rps": round(get["rps"], 1),
        "get_p99_ms": round(get["p99_ms"], 2),
        "callback_to_get": round(callback["rps"] / get["rps"], 3) if get["rps"] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    cfg = {
        "concurrency": args.concurrency,
        "warmup": 0.2 if args.quick else 2.0,
        "duration": 1.0 if args.quick else 10.0,
    }
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    logs = Path(tempfile.mkdtemp(prefix="credira-bench-callbacks-"))
    print(f"logs: {logs}")
    for kind in kinds:
        unavailable = postgres_available() if kind == "postgresql" else None
        if unavailable is not None:  # postgres_available() says why not, None when it answers
            print(f"postgresql: skipped ({unavailable})")
            continue
        print(json.dumps(run(kind, cfg, logs)))


if __name__ == "__main__":
    main()
