from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base, Timestamps


class EmailTemplate(Timestamps, Base):
    __tablename__ = "email_templates"
    __table_args__ = (Index("ix_email_templates_account", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(998))
    html_content: Mapped[str] = mapped_column(Text)
    text_content: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    variables: Mapped[list[str]] = mapped_column(JSON, default=list)
    usage_count: Mapped[int] = mapped_column(default=0)
    last_used: Mapped[datetime | None] = mapped_column()
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_by: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Email(Timestamps, Base):
    """One email: a row per message, written before it is handed to the mail server.

    Its ``message_id`` and ``idempotency_key`` are fixed when the row is written, so a retried
    or taken-over attempt re-sends the same message, never a second one.
    """

    __tablename__ = "emails"
    __table_args__ = (
        Index("ix_emails_account_callout", "account_id", "callout_id", "id"),
        Index("ix_emails_invoice_sent", "invoice_id", "sent_time"),
        # The claim: one range per priority, each in due order.
        Index("ix_emails_due", "status", "priority_rank", "run_at"),
        # A callout's emails: its response report and every run of the callout.
        Index("ix_emails_callout", "callout_id", "created_time"),
        # The daily email cap counts an account's emails sent today.
        Index("ix_emails_account_sent", "account_id", "sent_time"),
        # The dashboard's list: an account's emails newest first, of one status or any.
        Index("ix_emails_account_status", "account_id", "status", "id"),
        Index("ix_emails_account_id", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    callout_id: Mapped[str | None] = mapped_column(ForeignKey("callouts.id", ondelete="CASCADE"))
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    template_id: Mapped[str | None] = mapped_column(String(40))
    template_name: Mapped[str | None] = mapped_column(String(200))
    attempt_id: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    tracking_id: Mapped[str] = mapped_column(String(40), unique=True)
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(998))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    # "send_email" (POST /send-email, run by the email job) or "callout" (a callout's email part,
    # run and retried by its callout).
    origin: Mapped[str] = mapped_column(String(20))
    email_type: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(10))
    priority_rank: Mapped[int] = mapped_column()
    # An EmailStatus, written only by credira.email.state (which documents the life cycle).
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(String(1000))
    scheduled_time: Mapped[datetime] = mapped_column()
    run_at: Mapped[datetime] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires: Mapped[datetime | None] = mapped_column()
    attempt_count: Mapped[int] = mapped_column(default=0)
    sent_time: Mapped[datetime | None] = mapped_column()
    delivered_time: Mapped[datetime | None] = mapped_column()
    opened_time: Mapped[datetime | None] = mapped_column()
    clicked_time: Mapped[datetime | None] = mapped_column()
    bounced: Mapped[bool] = mapped_column(default=False)
    smtp_reply: Mapped[str | None] = mapped_column(String(1000))
    unsubscribed: Mapped[bool] = mapped_column(default=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_by: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
