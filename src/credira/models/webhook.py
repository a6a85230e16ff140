from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, column
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base, Timestamps


class WebhookEndpoint(Timestamps, Base):
    """A URL that receives the account's events of the types it names, signed with its secret.

    The secret is kept encrypted (``credira.secret.crypto``): the server signs with it, so it
    cannot be hashed. After a rotation the previous one signs too until ``previous_expires``.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_account", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column()
    # Why the endpoint was disabled by the service (gone: 410; failing: no success for days).
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_expires: Mapped[datetime | None] = mapped_column()
    # The first failure since the last success (or since creation); cleared by a success.
    failing_since: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class WebhookDelivery(Base):
    """One event to one endpoint: its schedule (the row is the queue) and its attempts.

    Made once per endpoint and event (unique), when the event is fanned out. ``body`` is kept
    only for a test message, which is not in the event log; others are read from the log.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        # Pending deliveries only, in due order: a claim reads one range of it.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_time",
            postgresql_where=column("status") == "pending",
            sqlite_where=column("status") == "pending",
        ),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_object", "endpoint_id", "object_id", "event_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_time: Mapped[datetime] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires: Mapped[datetime | None] = mapped_column()
    # Each attempt: {time, status_code, latency_ms, response (first KiB), error}.
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_time: Mapped[datetime] = mapped_column()
    updated_time: Mapped[datetime] = mapped_column()
