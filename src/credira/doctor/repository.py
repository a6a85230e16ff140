"""What the doctor reads: the schema's revision, and every account's provider settings and
webhook endpoints with their pending deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from credira.models import ProviderSetting, WebhookDelivery, WebhookEndpoint
from credira.webhook.types import DeliveryStatus


def _state(connection: Connection) -> tuple[str | None, bool, str]:
    current = MigrationContext.configure(connection).get_current_revision()
    has_tables = bool(inspect(connection).get_table_names())
    version = connection.dialect.server_version_info
    described = connection.dialect.name + (
        " " + ".".join(str(part) for part in version) if version else ""
    )
    return current, has_tables, described


async def schema_state(connection: AsyncConnection) -> tuple[str | None, bool, str]:
    """The schema's revision, whether the database holds any table, and the server's kind."""
    return await connection.run_sync(_state)


async def provider_settings(session: AsyncSession) -> Sequence[ProviderSetting]:
    return (
        await session.scalars(
            select(ProviderSetting).order_by(ProviderSetting.account_id, ProviderSetting.provider)
        )
    ).all()


@dataclass(frozen=True)
class Endpoint:
    id: str
    account_id: str
    url: str
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    secrets: tuple[str, ...]
    pending: int


async def webhook_endpoints(session: AsyncSession) -> list[Endpoint]:
    pending = dict(
        (
            await session.execute(
                select(WebhookDelivery.endpoint_id, func.count())
                .where(WebhookDelivery.status == DeliveryStatus.PENDING)
                .group_by(WebhookDelivery.endpoint_id)
            )
        ).all()
    )
    rows = (await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).all()
    return [
        Endpoint(
            e.id,
            e.account_id,
            e.url,
            e.enabled,
            e.disabled_reason,
            e.failing_since,
            tuple(s for s in (e.secret, e.previous_secret) if s),
            int(pending.get(e.id, 0)),
        )
        for e in rows
    ]
