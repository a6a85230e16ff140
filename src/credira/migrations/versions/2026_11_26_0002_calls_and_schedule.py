"""Calls, suppressions, the simulator's calls, and the callout's own schedule (run_at, lease).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:20:57.710892
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from credira.db.types import Money, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "simulator_calls",
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("provider_call_id", sa.String(length=60), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("scenario", sa.String(length=20), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("time_scale", sa.Double(), nullable=False),
        sa.Column("placed_time", UTCDateTime(), nullable=False),
        sa.Column("cancelled_time", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_simulator_calls")),
        sa.UniqueConstraint("provider_call_id", name=op.f("uq_simulator_calls_provider_call_id")),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_suppressions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suppressions_lookup", ["account_id", "channel", "value"], unique=True
        )

    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("callout_id", sa.String(length=40), nullable=False),
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_call_id", sa.String(length=120), nullable=True),
        sa.Column("voice_agent_id", sa.String(length=40), nullable=True),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("call_type", sa.String(length=20), nullable=False),
        sa.Column("call_purpose", sa.String(length=32), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("scheduled_time", UTCDateTime(), nullable=False),
        sa.Column("placed_time", UTCDateTime(), nullable=True),
        sa.Column("start_time", UTCDateTime(), nullable=True),
        sa.Column("end_time", UTCDateTime(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("confidence_score", sa.Double(), nullable=True),
        sa.Column("sentiment_score", sa.Double(), nullable=True),
        sa.Column("quality_score", sa.Double(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("recording_path", sa.String(length=500), nullable=True),
        sa.Column("cost", Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("updated_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_calls_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["callout_id"],
            ["callouts.id"],
            name=op.f("fk_calls_callout_id_callouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_calls_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_calls_attempt_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_calls_idempotency_key")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_account_invoice", ["account_id", "invoice_id", "id"], unique=False
        )
        batch_op.create_index("ix_calls_callout", ["callout_id", "attempt_number"], unique=False)
        batch_op.create_index(
            "ix_calls_invoice_placed", ["invoice_id", "placed_time"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "settings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("hold_reason", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("lease_expires", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("origin", sa.String(length=20), nullable=False, server_default="api")
        )
        batch_op.add_column(
            sa.Column("consented", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_index(batch_op.f("ix_callouts_due"))

    # Existing callouts are due when they were scheduled.
    op.execute("UPDATE callouts SET run_at = scheduled_time")
    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.alter_column("run_at", existing_type=UTCDateTime(), nullable=False)
        batch_op.alter_column("attempt_count", server_default=None)
        batch_op.alter_column("origin", server_default=None)
        batch_op.alter_column("consented", server_default=None)
        batch_op.create_index("ix_callouts_due", ["status", "run_at"], unique=False)
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.alter_column("settings", server_default=None)

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promised_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("promised_date")

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.drop_index("ix_callouts_due")
        batch_op.create_index("ix_callouts_due", ["status", "scheduled_time"], unique=False)
        batch_op.drop_column("consented")
        batch_op.drop_column("origin")
        batch_op.drop_column("attempt_count")
        batch_op.drop_column("lease_expires")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("run_at")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("settings")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_invoice_placed")
        batch_op.drop_index("ix_calls_callout")
        batch_op.drop_index("ix_calls_account_invoice")

    op.drop_table("calls")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index("ix_suppressions_lookup")

    op.drop_table("suppressions")
    op.drop_table("simulator_calls")
