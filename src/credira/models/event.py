from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, column, true
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class Event(Base):
    """One change a user may want to be told of, appended in the transaction that made it.

    Append-only: a row is never updated (but for ``webhooks_pending``), only pruned past the
    retention period. Ids sort by creation (and, within one process, by the order the events
    were made), so the account's log read newest first, or an object's history read in order,
    is one index range.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_account", "account_id", "id"),
        Index("ix_events_account_object", "account_id", "object_id", "id"),
        Index("ix_events_account_invoice", "account_id", "invoice_id", "id"),
        Index("ix_events_created", "created_time"),
        # The overview: an account's promises and payments over time, with the invoice each
        # names (joined without reading the event's row).
        Index("ix_events_account_type", "account_id", "type", "created_time", "object_id"),
        # The events not yet fanned out to webhook endpoints: few, whatever the log's size.
        Index(
            "ix_events_webhooks_pending",
            "id",
            postgresql_where=column("webhooks_pending"),
            sqlite_where=column("webhooks_pending"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40))
    # Not foreign keys: the history of a deleted callout outlives it (until pruned).
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    callout_id: Mapped[str | None] = mapped_column(String(40))
    created_time: Mapped[datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column()
    # Set until the webhook fan-out has made the event's deliveries (credira.webhook): events
    # commit in any order across processes, so a reader of "events after the last seen id"
    # could miss a late commit; a marker cannot be missed.
    webhooks_pending: Mapped[bool] = mapped_column(default=True, server_default=true())
