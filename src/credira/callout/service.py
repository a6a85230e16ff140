"""Creating, updating, cancelling and deleting callouts under the state rules of policy.py."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.agent import service as agent_service
from credira.auth.principal import Principal
from credira.callout import policy, repository, state
from credira.callout.schemas import CalloutCreate, CalloutUpdate
from credira.callout.state import CalloutStatus
from credira.callout.view import to_read as to_read
from credira.errors import NotFound
from credira.invoice import service as invoice_service
from credira.kit.ids import check_id, new_id
from credira.kit.metadata import merge_metadata
from credira.models import Callout


async def get(session: AsyncSession, account_id: str, callout_id: str) -> Callout:
    check_id("callout", callout_id)
    callout = await repository.get(session, account_id, callout_id)
    if callout is None:
        raise NotFound("Callout not found")
    return callout


async def _check_agent(session: AsyncSession, account_id: str, agent_id: str | None) -> None:
    if agent_id is not None:
        await agent_service.get(session, account_id, agent_id)


async def create(
    session: AsyncSession, principal: Principal, account_id: str, body: CalloutCreate, now: datetime
) -> Callout:
    actions = body.actions.model_dump(exclude_unset=True) if body.actions else {}
    calls_enabled = _flag(actions.get("calls_enabled"), default=True)
    emails_enabled = _flag(actions.get("emails_enabled"), default=False)
    policy.assert_may_reach(principal, calls_enabled=calls_enabled, emails_enabled=emails_enabled)
    check_id("invoice", body.invoice_id)
    invoice = await invoice_service.get(session, account_id, body.invoice_id)
    policy.assert_invoice_open(invoice.status)
    contact = body.target_contact.model_dump(exclude_unset=True) if body.target_contact else {}
    scheduled = body.scheduled_time or now
    callout = state.new(
        session,
        now,
        id=new_id("callout"),
        account_id=account_id,
        invoice_id=invoice.id,
        type=body.type,
        priority=body.priority,
        priority_rank=policy.PRIORITY_RANK[body.priority],
        scheduled_time=scheduled,
        run_at=scheduled,
        attempt_count=0,
        origin="api",
        consented=False,
        contact_name=contact.get("name", invoice.customer_name),
        contact_email=contact.get("email", invoice.customer_email),
        contact_phone=contact.get("phone", invoice.customer_phone),
        calls_enabled=calls_enabled,
        emails_enabled=emails_enabled,
        voice_agent_id=actions.get("voice_agent_id"),
        metadata_=body.metadata,
        created_by=principal.user_id,
    )
    _check_plan(callout)
    await _check_agent(session, account_id, callout.voice_agent_id)
    await session.flush()
    return callout


def _flag(value: bool | None, *, default: bool) -> bool:
    return default if value is None else value


def _check_plan(callout: Callout) -> None:
    policy.check_plan(
        calls_enabled=callout.calls_enabled,
        emails_enabled=callout.emails_enabled,
        voice_agent_id=callout.voice_agent_id,
        phone=callout.contact_phone,
        email=callout.contact_email,
    )


async def update(
    session: AsyncSession,
    principal: Principal,
    callout: Callout,
    body: CalloutUpdate,
    now: datetime,
) -> Callout:
    policy.assert_updatable(callout.status)
    fields = body.model_dump(exclude_unset=True)
    actions = fields.get("actions") or {}
    # Judged on the callout as it will be, before anything of it changes.
    policy.assert_may_reach(
        principal,
        calls_enabled=_flag(actions.get("calls_enabled"), default=callout.calls_enabled),
        emails_enabled=_flag(actions.get("emails_enabled"), default=callout.emails_enabled),
    )
    if fields.get("scheduled_time") is not None:
        # A new time replaces any rule hold; the rules are checked again when it comes due.
        callout.scheduled_time = fields["scheduled_time"]
        callout.run_at = fields["scheduled_time"]
        callout.hold_reason = None
    if fields.get("priority") is not None:
        callout.priority = fields["priority"]
        callout.priority_rank = policy.PRIORITY_RANK[fields["priority"]]
    if actions.get("calls_enabled") is not None:
        callout.calls_enabled = actions["calls_enabled"]
    if actions.get("emails_enabled") is not None:
        callout.emails_enabled = actions["emails_enabled"]
    if "voice_agent_id" in actions:
        callout.voice_agent_id = actions["voice_agent_id"]
    contact = fields.get("target_contact") or {}
    for name in ("name", "email", "phone"):
        if name in contact:
            setattr(callout, f"contact_{name}", contact[name])
    if fields.get("metadata") is not None:
        callout.metadata_ = merge_metadata(callout.metadata_, fields["metadata"])
    _check_plan(callout)
    if "voice_agent_id" in actions:
        await _check_agent(session, callout.account_id, callout.voice_agent_id)
    state.updated(session, callout, now)
    await session.flush()
    return callout


async def cancel(
    session: AsyncSession, callout: Callout, reason: str | None, now: datetime, public_url: str
) -> Callout:
    policy.assert_cancellable(callout.status)
    state.finish(session, callout, CalloutStatus.CANCELLED, reason or "cancelled by request", now)
    await session.flush()
    # A call requested through POST /calls and not dialled yet ends with its callout (after
    # the callout's row, the order the worker locks them in).
    await repository.cancel_unplaced_calls(
        session, callout.id, callout.status_reason or "", now, public_url
    )
    return callout


async def delete(session: AsyncSession, callout: Callout, now: datetime) -> dict[str, Any]:
    policy.assert_deletable(callout.status)
    recordings, transcriptions = await repository.media_counts(session, callout.id)
    files = await repository.recording_paths(session, callout.id)
    # Calls (with their transcripts and analysis) go with the callout (ON DELETE CASCADE).
    state.deleted(session, callout, now)
    await session.delete(callout)
    await session.flush()
    await asyncio.to_thread(_unlink_all, files)
    return {
        "callout": True,
        "recordings": recordings,
        "transcriptions": transcriptions,
        "analytics": True,
    }


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)
