"""Email templates, emails, and the email part of a callout.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:50:50.268154
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from credira.db.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_platform_secrets")),
    )
    op.create_table(
        "email_templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("html_content", sa.Text(), nullable=False),
        sa.Column("text_content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("usage_count", sa.Integer(), nullable=False),
        sa.Column("last_used", UTCDateTime(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("updated_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_email_templates_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_templates")),
    )
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.create_index("ix_email_templates_account", ["account_id", "id"], unique=False)

    op.create_table(
        "emails",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("callout_id", sa.String(length=40), nullable=True),
        sa.Column("invoice_id", sa.String(length=40), nullable=True),
        sa.Column("template_id", sa.String(length=40), nullable=True),
        sa.Column("template_name", sa.String(length=200), nullable=True),
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("tracking_id", sa.String(length=40), nullable=False),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("email_type", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=1000), nullable=True),
        sa.Column("scheduled_time", UTCDateTime(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_expires", UTCDateTime(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("sent_time", UTCDateTime(), nullable=True),
        sa.Column("delivered_time", UTCDateTime(), nullable=True),
        sa.Column("opened_time", UTCDateTime(), nullable=True),
        sa.Column("clicked_time", UTCDateTime(), nullable=True),
        sa.Column("bounced", sa.Boolean(), nullable=False),
        sa.Column("smtp_reply", sa.String(length=1000), nullable=True),
        sa.Column("unsubscribed", sa.Boolean(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("updated_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_emails_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["callout_id"],
            ["callouts.id"],
            name=op.f("fk_emails_callout_id_callouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_emails_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emails")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_emails_attempt_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_emails_idempotency_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_emails_message_id")),
        sa.UniqueConstraint("tracking_id", name=op.f("uq_emails_tracking_id")),
    )
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_emails_account_callout", ["account_id", "callout_id", "id"], unique=False
        )
        batch_op.create_index("ix_emails_due", ["status", "run_at"], unique=False)
        batch_op.create_index("ix_emails_callout", ["callout_id", "created_time"], unique=False)
        batch_op.create_index("ix_emails_account_sent", ["account_id", "sent_time"], unique=False)
        batch_op.create_index("ix_emails_invoice_sent", ["invoice_id", "sent_time"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_account_placed", ["account_id", "placed_time"], unique=False
        )

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("email_done", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.alter_column("email_done", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_account_placed")

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.drop_column("email_done")
        batch_op.drop_column("template_id")

    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.drop_index("ix_emails_invoice_sent")
        batch_op.drop_index("ix_emails_account_sent")
        batch_op.drop_index("ix_emails_callout")
        batch_op.drop_index("ix_emails_due")
        batch_op.drop_index("ix_emails_account_callout")

    op.drop_table("emails")
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_email_templates_account")

    op.drop_table("email_templates")
    op.drop_table("platform_secrets")
