from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from credira.db.types import Money
from credira.models.base import Base, Timestamps


class Invoice(Timestamps, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_account_number", "account_id", "number", unique=True),
        Index("ix_invoices_account_status", "account_id", "status", "id"),
        # The dashboard's list: an account's invoices newest first, whatever their status.
        Index("ix_invoices_account_id", "account_id", "id"),
        # The worker's plan query: the invoices whose next plan step (or pause's end) is due.
        Index("ix_invoices_plan_due", "plan_status", "plan_next_time"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(20))
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    payment_url: Mapped[str | None] = mapped_column(String(2000))
    promised_date: Mapped[date | None] = mapped_column()
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_by: Mapped[str | None] = mapped_column(String(40))
    # The invoice's place in its collection plan (credira.plan.state writes these): the plan,
    # active | paused | stopped | completed, the next step's position, when the worker next
    # looks (the next step's time, or a pause's end), until when it is paused, and why.
    plan_id: Mapped[str | None] = mapped_column(
        ForeignKey("collection_plans.id", ondelete="SET NULL")
    )
    plan_status: Mapped[str | None] = mapped_column(String(20))
    plan_step: Mapped[int | None] = mapped_column()
    plan_next_time: Mapped[datetime | None] = mapped_column()
    plan_paused_until: Mapped[datetime | None] = mapped_column()
    plan_reason: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
