"""One account's story for the dashboard tests: an invoice following a collection plan with a
callout scheduled today, and a completed callout whose call has a transcript and a recording
(a real WAV file) with its event in the log."""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.callout.state import CalloutStatus
from credira.event.log import record
from credira.event.types import EventType
from credira.kit.ids import new_id
from credira.models import Call
from tests import factories
from tests.support import Tenant

TRANSCRIPT = (
    "Agent: Hello, this is Ava from Acme about invoice INV-7.\n"
    "Customer: Yes, I will pay the full amount on Friday."
)


@dataclass(frozen=True)
class Story:
    invoice_id: str  # follows a plan; has the scheduled and the completed callout
    scheduled_id: str  # scheduled today
    completed_id: str
    call_id: str
    agent_id: str


def write_wav(path: Path, seconds: float = 0.5) -> None:
    """A short 440 Hz tone: a recording any browser plays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def plan_body(agent_id: str) -> dict[str, Any]:
    return {
        "name": "Standard cadence",
        "steps": [
            {"offset_days": 1, "time": "10:00", "channels": ["call"], "voice_agent_id": agent_id},
            {"offset_days": 7, "time": "10:00", "channels": ["email"]},
        ],
    }


async def seed(tenant: Tenant, sessions: async_sessionmaker[AsyncSession], data: Path) -> Story:
    agent = await tenant.agent()
    plan = await tenant.created("/v1/collection-plans", plan_body(agent["id"]))
    due = (date.today() + timedelta(days=30)).isoformat()
    invoice = await tenant.invoice(plan_id=plan["id"], due_date=due)
    scheduled = await tenant.callout(
        invoice["id"], agent["id"], scheduled_time=datetime.now(UTC).isoformat()
    )
    now = datetime.now(UTC)
    call_id = new_id("call")
    recording = data / "recordings" / f"{call_id}.wav"
    write_wav(recording)
    async with sessions() as session:
        done = factories.callout(
            tenant.account_id,
            invoice["id"],
            agent["id"],
            now - timedelta(hours=2),
            status=CalloutStatus.COMPLETED,
            completed_time=now - timedelta(hours=1),
            status_reason="reached",
        )
        session.add(done)
        await session.flush()
        call = Call(
            id=call_id,
            account_id=tenant.account_id,
            invoice_id=invoice["id"],
            callout_id=done.id,
            attempt_id=new_id("attempt"),
            attempt_number=1,
            idempotency_key=f"dashboard-test-{call_id}",
            provider="simulator",
            voice_agent_id=agent["id"],
            to_number=factories.PHONE,
            status="completed",
            call_purpose="payment_reminder",
            customer_name="John Doe",
            scheduled_time=now - timedelta(hours=2),
            placed_time=now - timedelta(hours=2),
            duration=42,
            answered=True,
            outcome="promise_to_pay",
            summary="Promised to pay on Friday.",
            transcript=TRANSCRIPT,
            recording_path=str(recording),
            keywords=[],
            tags=[],
            metadata_={},
            created_time=now - timedelta(hours=2),
            updated_time=now - timedelta(hours=1),
        )
        session.add(call)
        record(
            session,
            EventType.CALL_COMPLETED,
            account_id=tenant.account_id,
            object_id=call_id,
            invoice_id=invoice["id"],
            callout_id=done.id,
            data={"id": call_id, "status": "completed", "duration": 42},
            now=now - timedelta(hours=1),
        )
        await session.commit()
        completed_id = done.id
    return Story(invoice["id"], scheduled["id"], completed_id, call_id, agent["id"])
