"""All SQL of ``provider_settings``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import ProviderSetting


async def get(session: AsyncSession, account_id: str, provider: str) -> ProviderSetting | None:
    return await session.get(ProviderSetting, (account_id, provider))


async def of_account(session: AsyncSession, account_id: str) -> Sequence[ProviderSetting]:
    rows = await session.scalars(
        select(ProviderSetting).where(ProviderSetting.account_id == account_id)
    )
    return rows.all()
