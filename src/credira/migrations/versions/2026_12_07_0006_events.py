"""The event log: every change a user may want to be told of, appended with the change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from credira.db.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=True),
        sa.Column("callout_id", sa.String(length=40), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_events_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_account", ["account_id", "id"], unique=False)
        batch_op.create_index(
            "ix_events_account_object", ["account_id", "object_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_events_account_invoice", ["account_id", "invoice_id", "id"], unique=False
        )
        batch_op.create_index("ix_events_created", ["created_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_created")
        batch_op.drop_index("ix_events_account_invoice")
        batch_op.drop_index("ix_events_account_object")
        batch_op.drop_index("ix_events_account")
    op.drop_table("events")
