"""Worker throughput: daily cap counters, and the claim index in claim order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 18:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "daily_usage",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("stripe", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_daily_usage_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "day", "kind", "stripe", name=op.f("pk_daily_usage")),
    )
    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.drop_index("ix_callouts_due")
        batch_op.create_index(
            "ix_callouts_due", ["status", "priority_rank", "run_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.drop_index("ix_callouts_due")
        batch_op.create_index("ix_callouts_due", ["status", "run_at"], unique=False)
    op.drop_table("daily_usage")
