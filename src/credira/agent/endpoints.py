from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from credira.agent import repository, service
from credira.agent.schemas import AgentStatus, VoiceAgentCreate, VoiceAgentRead, VoiceAgentUpdate
from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import Deleted, errors_for, listing, reply
from credira.kit.clock import format_time
from credira.kit.pagination import Page

router = APIRouter(prefix="/voice-agents", tags=["Voice agents"])


@router.post(
    "",
    status_code=201,
    summary="Create Voice Agent",
    responses={**reply(VoiceAgentRead, 201), **errors_for(400, 401, 403, 422)},
)
async def create_agent(
    body: VoiceAgentCreate,
    ctx: Annotated[Ctx, Depends(require("voice_agents:write", "create voice agents"))],
) -> JSONResponse:
    """Create a voice agent. ``script`` may use ``{{customer_name}}``, ``{{invoice_number}}``,
    ``{{amount}}``, ``{{currency}}``, ``{{due_date}}``, ``{{days_overdue}}``,
    ``{{company_name}}``, ``{{agent_name}}`` and ``{{payment_link}}``."""
    agent = await service.create(ctx.session, ctx.principal, ctx.account_id, body, ctx.clock.now())
    return await respond(
        ctx,
        service.to_read(agent),
        status=201,
        message="Voice agent created successfully",
        version=agent.version,
    )


@router.get(
    "",
    summary="List Voice Agents",
    responses={**listing(VoiceAgentRead, "voice_agents"), **errors_for(400, 401, 403, 422)},
)
async def list_agents(
    ctx: Annotated[Ctx, Depends(require("voice_agents:read", "list voice agents"))],
    page: Annotated[Page, Depends(page_params("agent"))],
    status: Annotated[AgentStatus | None, Query(description="Filter by status")] = None,
) -> JSONResponse:
    """The caller's voice agents, oldest first."""
    items, more, total = await repository.list_agents(ctx.session, ctx.account_id, status, page)
    return await respond(
        ctx, [service.to_read(a) for a in items], total_voice_agents=total, has_more=more
    )


@router.get(
    "/{agent_id}",
    summary="Get Voice Agent",
    responses={**reply(VoiceAgentRead), **errors_for(400, 401, 403, 404)},
)
async def get_agent(
    agent_id: str,
    ctx: Annotated[Ctx, Depends(require("voice_agents:read", "access this voice agent"))],
) -> JSONResponse:
    """One voice agent of the caller's account."""
    agent = await service.get(ctx.session, ctx.account_id, agent_id)
    return await respond(ctx, service.to_read(agent), version=agent.version)


@router.put(
    "/{agent_id}",
    summary="Update Voice Agent",
    responses={**reply(VoiceAgentRead), **errors_for(400, 401, 403, 404, 412, 422)},
)
async def update_agent(
    agent_id: str,
    body: VoiceAgentUpdate,
    ctx: Annotated[Ctx, Depends(require("voice_agents:write", "update this voice agent"))],
) -> JSONResponse:
    """Update a voice agent; ``metadata`` keys merge and a key set to null is removed."""
    agent = await service.get(ctx.session, ctx.account_id, agent_id)
    # Preconditions are judged after the request's own checks (RFC 9110 13.2.1).
    current_version = agent.version
    agent = await service.update(ctx.session, agent, body, ctx.clock.now())
    check_if_match(ctx, current_version)
    return await respond(
        ctx,
        service.to_read(agent),
        message="Voice agent updated successfully",
        version=agent.version,
    )


@router.delete(
    "/{agent_id}",
    summary="Delete Voice Agent",
    responses={
        **reply(Deleted, name="VoiceAgentDeletedReply"),
        **errors_for(400, 401, 403, 404, 409),
    },
)
async def delete_agent(
    agent_id: str,
    ctx: Annotated[Ctx, Depends(require("voice_agents:write", "delete this voice agent"))],
) -> JSONResponse:
    """Delete a voice agent. An agent still named by a pending callout is ``CONFLICT``."""
    agent = await service.get(ctx.session, ctx.account_id, agent_id)
    await service.delete(ctx.session, agent)
    data = {"id": agent_id, "deleted": True, "deleted_time": format_time(ctx.clock.now())}
    return await respond(ctx, data, message="Voice agent deleted successfully")
