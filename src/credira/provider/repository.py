"""All SQL of ``provider_settings``."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from credira.models import ProviderSetting


async def get(session: AsyncSession, account_id: str, provider: str) -> ProviderSetting | None:
    return await session.get(ProviderSetting, (account_id, provider))


async def of_account(session: AsyncSession, account_id: str) -> Sequence[ProviderSetting]:
    rows = await session.scalars(
        select(ProviderSetting).where(ProviderSetting.account_id == account_id)
    )
    return rows.all()


async def limits_locked(
    session: AsyncSession, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int | None, int | None]]:
    """The limits (calls at once, calls per second) of these (account, provider) pairs that
    have any, their rows locked until the transaction ends: deciding to dial under a limit is
    serialised per account and provider across workers."""
    if not pairs:
        return {}
    rows = await session.execute(
        select(
            ProviderSetting.account_id,
            ProviderSetting.provider,
            ProviderSetting.max_concurrent_calls,
            ProviderSetting.calls_per_second,
        )
        .where(
            ProviderSetting.account_id.in_(sorted({account for account, _ in pairs})),
            ProviderSetting.provider.in_(sorted({provider for _, provider in pairs})),
            or_(
                ProviderSetting.max_concurrent_calls.is_not(None),
                ProviderSetting.calls_per_second.is_not(None),
            ),
        )
        .order_by(ProviderSetting.account_id, ProviderSetting.provider)
        .with_for_update()
    )
    wanted = set(pairs)
    return {
        (account, provider): (most, per_second)
        for account, provider, most, per_second in rows
        if (account, provider) in wanted
    }
