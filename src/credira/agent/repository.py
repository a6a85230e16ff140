from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.kit.pagination import Page
from credira.models import Callout, VoiceAgent


async def get(session: AsyncSession, account_id: str, agent_id: str) -> VoiceAgent | None:
    return await session.scalar(
        select(VoiceAgent).where(VoiceAgent.id == agent_id, VoiceAgent.account_id == account_id)
    )


async def list_agents(
    session: AsyncSession, account_id: str, status: str | None, page: Page
) -> tuple[list[VoiceAgent], bool, int]:
    conditions = [VoiceAgent.account_id == account_id]
    if status is not None:
        conditions.append(VoiceAgent.status == status)
    query = page.apply(select(VoiceAgent).where(*conditions), VoiceAgent.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    total = await session.scalar(select(func.count()).select_from(VoiceAgent).where(*conditions))
    return items, more, int(total or 0)


async def pending_callouts_using(session: AsyncSession, account_id: str, agent_id: str) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(Callout)
        .where(
            Callout.account_id == account_id,
            Callout.voice_agent_id == agent_id,
            Callout.status.in_(("scheduled", "active")),
        )
    )
    return int(total or 0)
