"""Per-account voice provider settings, encrypted at rest; the real providers' side of each
attempt; a voice agent's mode.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from credira.db.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_settings",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("api_base", sa.String(length=300), nullable=True),
        sa.Column(
            "fields_set",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("max_concurrent_calls", sa.Integer(), nullable=True),
        sa.Column("calls_per_second", sa.Integer(), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("updated_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_provider_settings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "provider", name=op.f("pk_provider_settings")),
    )
    op.create_table(
        "provider_calls",
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_call_id", sa.String(length=120), nullable=True),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("voice", sa.String(length=64), nullable=False),
        sa.Column("reported", sa.String(length=20), nullable=False),
        sa.Column("answered_by", sa.String(length=40), nullable=True),
        sa.Column("digits", sa.String(length=20), nullable=True),
        sa.Column("answered_time", UTCDateTime(), nullable=True),
        sa.Column("ended_time", UTCDateTime(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("cost", sa.String(length=20), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("recording_url", sa.String(length=1000), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("dial_time", UTCDateTime(), nullable=False),
        sa.Column("heard_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_provider_calls_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_provider_calls_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_provider_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_provider_calls_call_id")),
    )
    with op.batch_alter_table("provider_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_calls_provider_id", ["provider", "provider_call_id"], unique=False
        )
    with op.batch_alter_table("voice_agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=20), server_default="script", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_agents", schema=None) as batch_op:
        batch_op.drop_column("mode")
    with op.batch_alter_table("provider_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_calls_provider_id")
    op.drop_table("provider_calls")
    op.drop_table("provider_settings")
