"""A call's analysis source: which analysis read its outcome ("llm" or "rules").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 03:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysis_source", sa.String(length=8), nullable=True))
    # The calls analysed before this revision were all read by the rules.
    op.execute("UPDATE calls SET analysis_source = 'rules' WHERE outcome IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("analysis_source")
