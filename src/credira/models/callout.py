from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, column
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base, Timestamps


class Callout(Timestamps, Base):
    """One scheduled outreach to a debtor. The row is its own schedule (see the worker)."""

    __tablename__ = "callouts"
    __table_args__ = (
        Index("ix_callouts_account_invoice", "account_id", "invoice_id", "id"),
        Index("ix_callouts_account_status", "account_id", "status", "id"),
        # The worker's claim query: callouts of a status in claim order (urgent first, then
        # the longest due), walked in order and left after the first rows it takes.
        Index("ix_callouts_due", "status", "priority_rank", "run_at"),
        # The overview: an account's callouts of a day, its scheduled ones in due order, and
        # its held ones by reason (few, whatever the table's size).
        Index("ix_callouts_account_scheduled", "account_id", "scheduled_time", "status"),
        Index("ix_callouts_account_run", "account_id", "status", "run_at"),
        Index(
            "ix_callouts_account_held",
            "account_id",
            "status",
            "hold_reason",
            postgresql_where=column("hold_reason").is_not(None),
            sqlite_where=column("hold_reason").is_not(None),
        ),
        # The dashboard's list: an account's callouts in id order, whatever their status.
        Index("ix_callouts_account_id", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(10))
    priority_rank: Mapped[int] = mapped_column()
    scheduled_time: Mapped[datetime] = mapped_column()
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    calls_enabled: Mapped[bool] = mapped_column()
    emails_enabled: Mapped[bool] = mapped_column()
    voice_agent_id: Mapped[str | None] = mapped_column(String(40))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # The schedule: when the worker may next take it (scheduled_time, a retry, or a rule's
    # earliest allowed time), why it waits, and who holds it while it runs.
    run_at: Mapped[datetime] = mapped_column()
    hold_reason: Mapped[str | None] = mapped_column(String(100))
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires: Mapped[datetime | None] = mapped_column()
    attempt_count: Mapped[int] = mapped_column(default=0)
    origin: Mapped[str] = mapped_column(String(20), default="api")
    consented: Mapped[bool] = mapped_column(default=False)
    # The email part: which template (default: the account's active one for ``type``), and
    # whether it is done.
    template_id: Mapped[str | None] = mapped_column(String(40))
    email_done: Mapped[bool] = mapped_column(default=False)
    completed_time: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
