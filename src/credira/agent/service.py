from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.agent import repository
from credira.agent.schemas import VoiceAgentCreate, VoiceAgentUpdate
from credira.auth.principal import Principal
from credira.errors import Conflict, NotFound, ValidationFailed
from credira.kit.clock import format_time
from credira.kit.ids import check_id, new_id
from credira.kit.metadata import merge_metadata
from credira.models import VoiceAgent


async def get(session: AsyncSession, account_id: str, agent_id: str) -> VoiceAgent:
    check_id("agent", agent_id, "voice agent")
    agent = await repository.get(session, account_id, agent_id)
    if agent is None:
        raise NotFound("Voice agent not found")
    return agent


async def create(
    session: AsyncSession,
    principal: Principal,
    account_id: str,
    body: VoiceAgentCreate,
    now: datetime,
) -> VoiceAgent:
    agent = VoiceAgent(
        id=new_id("agent"),
        account_id=account_id,
        name=body.name,
        provider=body.provider,
        mode=body.mode,
        voice=body.voice,
        language=body.language,
        from_number=body.from_number,
        script=body.script,
        max_duration=body.max_duration,
        status=body.status,
        metadata_=body.metadata,
        created_by=principal.user_id,
        created_time=now,
        updated_time=now,
    )
    _check_caller_id(agent)
    session.add(agent)
    await session.flush()
    return agent


def _check_caller_id(agent: VoiceAgent) -> None:
    """A real provider dials from a number of the account's (the simulator lends one)."""
    if agent.provider != "simulator" and not agent.from_number:
        raise ValidationFailed(
            "Invalid field value",
            details=f"a {agent.provider} agent needs from_number, a number of your "
            f"{agent.provider} account in E.164 (+14155550123)",
            field="from_number",
        )


async def update(
    session: AsyncSession, agent: VoiceAgent, body: VoiceAgentUpdate, now: datetime
) -> VoiceAgent:
    fields = body.model_dump(exclude_unset=True)
    names = ("name", "provider", "mode", "voice", "language", "script", "max_duration", "status")
    for name in names:
        if fields.get(name) is not None:
            setattr(agent, name, fields[name])
    if "from_number" in fields:
        agent.from_number = fields["from_number"]
    _check_caller_id(agent)
    if fields.get("metadata") is not None:
        agent.metadata_ = merge_metadata(agent.metadata_, fields["metadata"])
    agent.updated_time = max(now, agent.created_time)
    await session.flush()
    return agent


async def delete(session: AsyncSession, agent: VoiceAgent) -> None:
    pending = await repository.pending_callouts_using(session, agent.account_id, agent.id)
    if pending:
        raise Conflict(
            f"Voice agent is used by {pending} pending callout(s); reassign or cancel them first"
        )
    await session.delete(agent)
    await session.flush()


def to_read(agent: VoiceAgent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "account_id": agent.account_id,
        "name": agent.name,
        "provider": agent.provider,
        "mode": agent.mode,
        "voice": agent.voice,
        "language": agent.language,
        "from_number": agent.from_number,
        "script": agent.script,
        "max_duration": agent.max_duration,
        "status": agent.status,
        "metadata": agent.metadata_,
        "created_time": format_time(agent.created_time),
        "updated_time": format_time(agent.updated_time),
    }
