from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credira.db.types import Money
from credira.models.base import Base, Timestamps


class Call(Timestamps, Base):
    """One call attempt: an append-only record written before the provider is asked to dial.

    ``idempotency_key`` is what the provider dedupes on, so a retried or taken-over attempt can
    never dial twice.
    """

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_account_invoice", "account_id", "invoice_id", "id"),
        Index("ix_calls_invoice_placed", "invoice_id", "placed_time"),
        Index("ix_calls_callout", "callout_id", "attempt_number"),
        # The daily call cap counts an account's calls placed today.
        Index("ix_calls_account_placed", "account_id", "placed_time"),
        # The dashboard's list: an account's calls newest first.
        Index("ix_calls_account_id", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    callout_id: Mapped[str] = mapped_column(ForeignKey("callouts.id", ondelete="CASCADE"))
    attempt_id: Mapped[str] = mapped_column(String(40), unique=True)
    attempt_number: Mapped[int] = mapped_column()
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_call_id: Mapped[str | None] = mapped_column(String(120))
    voice_agent_id: Mapped[str | None] = mapped_column(String(40))
    from_number: Mapped[str | None] = mapped_column(String(20))
    to_number: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    call_type: Mapped[str] = mapped_column(String(20), default="outbound")
    call_purpose: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    scheduled_time: Mapped[datetime] = mapped_column()
    placed_time: Mapped[datetime | None] = mapped_column()
    start_time: Mapped[datetime | None] = mapped_column()
    end_time: Mapped[datetime | None] = mapped_column()
    duration: Mapped[int | None] = mapped_column()
    answered: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Which analysis read the outcome of an answered call: "llm" or "rules" (None: not analysed).
    analysis_source: Mapped[str | None] = mapped_column(String(8))
    confidence_score: Mapped[float | None] = mapped_column()
    sentiment_score: Mapped[float | None] = mapped_column()
    quality_score: Mapped[float | None] = mapped_column()
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    recording_path: Mapped[str | None] = mapped_column(String(500))
    cost: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    error: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_by: Mapped[str | None] = mapped_column(String(40))
