from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base, JSONDoc, Timestamps


class CollectionPlan(Timestamps, Base):
    """A cadence of contacts relative to an invoice's due date (``credira.plan``). Its steps
    are kept as one JSON list: they are read and written together, and a step is named by its
    position (what has run is counted in positions, see ``Invoice.plan_step``)."""

    __tablename__ = "collection_plans"
    __table_args__ = (Index("ix_collection_plans_account", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    min_gap_hours: Mapped[int] = mapped_column(default=0)
    skip_weekends: Mapped[bool] = mapped_column(default=False)
    skip_holidays: Mapped[bool] = mapped_column(default=False)
    # The account's default plan, attached to new invoices that name none (one per account).
    is_default: Mapped[bool] = mapped_column(default=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_by: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class PlanStepRun(Base):
    """One plan step that came due for one invoice: the callout made for it, or why none was.
    The unique (invoice, plan, step) key is what makes a step run once, whatever the retries,
    restarts or concurrent workers."""

    __tablename__ = "plan_step_runs"
    __table_args__ = (
        Index("ix_plan_step_runs_once", "invoice_id", "plan_id", "step_index", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    # Not a foreign key: what ran outlives a deleted plan.
    plan_id: Mapped[str] = mapped_column(String(40))
    step_index: Mapped[int] = mapped_column()
    due_time: Mapped[datetime] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300))
    callout_id: Mapped[str | None] = mapped_column(String(40))
    created_time: Mapped[datetime] = mapped_column()


class ImportJob(Timestamps, Base):
    """A CSV of invoices sent to ``POST /v1/invoices/import``, checked whole when received and
    written by a worker in chunks, each chunk committed with the job's progress: a worker
    that stops leaves the job to be taken over, and the import is idempotent on the invoice
    number, so the rows written again change nothing."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_account", "account_id", "id"),
        Index("ix_import_jobs_due", "status", "lease_expires"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    plan_id: Mapped[str | None] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_rows: Mapped[int] = mapped_column(default=0)
    updated_rows: Mapped[int] = mapped_column(default=0)
    unchanged_rows: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires: Mapped[datetime | None] = mapped_column()
    finished_time: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(40))
