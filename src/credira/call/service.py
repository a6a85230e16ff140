"""Placing calls on request, and reading calls, transcripts and recordings."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from credira.agent import service as agent_service
from credira.auth.principal import Principal
from credira.call import repository
from credira.call import state as call_state
from credira.call.schemas import CallCreate
from credira.call.view import recording_url as recording_url
from credira.call.view import to_detail as to_detail
from credira.call.view import to_read as to_read
from credira.call.view import transcription_url as transcription_url
from credira.callout import policy
from credira.callout import state as callout_state
from credira.channel.voice.port import VoiceProviderError
from credira.channel.voice.registry import VoiceProviders
from credira.errors import Conflict, NotFound
from credira.invoice import service as invoice_service
from credira.kit.clock import format_time
from credira.kit.files import write_atomically
from credira.kit.ids import check_id, new_id
from credira.models import Call, Callout

log = structlog.get_logger("credira.call")

ESTIMATED_DURATION = 180
PRIORITIES = ("low", "medium", "high", "urgent")


async def get(session: AsyncSession, account_id: str, call_id: str) -> Call:
    check_id("call", call_id)
    call = await repository.get(session, account_id, call_id)
    if call is None:
        raise NotFound("Call not found")
    return call


async def create(
    session: AsyncSession,
    principal: Principal,
    account_id: str,
    body: CallCreate,
    now: datetime,
    public_url: str,
) -> tuple[Call, Callout]:
    """A call request becomes a one-attempt callout, so it goes through the same worker and
    the same rules as every other call; the call row exists at once, ``initiated``."""
    check_id("invoice", body.invoice_id)
    invoice = await invoice_service.get(session, account_id, body.invoice_id)
    agent = await agent_service.get(session, account_id, body.voice_agent_id)
    if invoice.status != "open":
        raise Conflict(f"Cannot call about a {invoice.status} invoice")
    priority = body.metadata.get("priority")
    priority = priority if priority in PRIORITIES else "medium"
    when = body.scheduled_time or now
    callout = callout_state.new(
        session,
        now,
        id=new_id("callout"),
        account_id=account_id,
        invoice_id=invoice.id,
        type=body.call_purpose,
        priority=priority,
        priority_rank=policy.PRIORITY_RANK[priority],
        scheduled_time=when,
        run_at=when,
        contact_name=body.customer_name or invoice.customer_name,
        contact_email=None,
        contact_phone=body.phone_number,
        calls_enabled=True,
        emails_enabled=False,
        voice_agent_id=agent.id,
        metadata_=body.metadata,
        origin="call_request",
        consented=False,
        attempt_count=1,
        created_by=principal.user_id,
    )
    await session.flush()
    call = call_state.new(
        session,
        public_url,
        now,
        id=new_id("call"),
        account_id=account_id,
        invoice_id=invoice.id,
        callout_id=callout.id,
        attempt_id=new_id("attempt"),
        attempt_number=1,
        idempotency_key=call_state.idempotency_key(callout.id, 1),
        provider=agent.provider,
        voice_agent_id=agent.id,
        from_number=agent.from_number,
        to_number=body.phone_number,
        timezone=invoice.customer_timezone,
        call_type="outbound",
        call_purpose=body.call_purpose,
        customer_name=body.customer_name,
        scheduled_time=when,
        placed_time=None,  # set by the worker when the rules allow dialling
        answered=False,
        keywords=[],
        tags=[body.call_purpose.replace("_", "-")],
        metadata_=body.metadata,
        created_by=principal.user_id,
    )
    await session.flush()
    return call, callout


def create_reply(call: Call, callout: Callout) -> dict[str, Any]:
    return {
        "id": call.id,
        "invoice_id": call.invoice_id,
        "phone_number": call.to_number,
        "voice_agent_id": call.voice_agent_id,
        "status": call.status,
        "call_purpose": call.call_purpose,
        "customer_name": call.customer_name,
        "scheduled_time": format_time(call.scheduled_time),
        "account_id": call.account_id,
        "created_time": format_time(call.created_time),
        "estimated_duration": ESTIMATED_DURATION,
        "call_priority": callout.priority,
        "metadata": call.metadata_,
    }


def recording_file(call: Call, extension: str) -> Path:
    """Where the call's recording is kept; a recording the provider keeps is written there on
    its first request (see ``fetch_recording``)."""
    path = Path(call.recording_path) if call.recording_path else None
    if path is None or path.suffix != "." + extension:
        raise NotFound("Recording not found")
    return path


async def fetch_recording(
    session: AsyncSession, call: Call, path: Path, voice: VoiceProviders
) -> None:
    """Fetch the call's recording from its provider and write it to ``path`` (atomically:
    concurrent first requests, in any process, each write a whole file and each serve one)."""
    try:
        provider = voice.get(call.provider)
        recording = (
            await provider.fetch_recording(call.provider_call_id) if call.provider_call_id else None
        )
    except VoiceProviderError as exc:
        log.warning("call.recording.unavailable", call_id=call.id, error=str(exc))
        raise NotFound("Recording not found") from exc
    if recording is None or "." + recording.extension != path.suffix:
        raise NotFound("Recording not found")
    await asyncio.to_thread(write_atomically, path, recording.content)
    # Deleting a callout removes its recordings: one written meanwhile must not stay behind.
    if await repository.get(session, call.account_id, call.id) is None:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise NotFound("Recording not found")
