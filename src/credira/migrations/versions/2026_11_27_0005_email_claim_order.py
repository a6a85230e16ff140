"""The email claim index in claim order: status, priority, then due time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.drop_index("ix_emails_due")
        batch_op.create_index("ix_emails_due", ["status", "priority_rank", "run_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.drop_index("ix_emails_due")
        batch_op.create_index("ix_emails_due", ["status", "run_at"], unique=False)
