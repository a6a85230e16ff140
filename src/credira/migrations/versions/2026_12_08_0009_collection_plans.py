"""Collection plans, their steps and each invoice's place in its plan.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from credira.db.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "collection_plans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("steps", _JSON, nullable=False),
        sa.Column("min_gap_hours", sa.Integer(), nullable=False),
        sa.Column("skip_weekends", sa.Boolean(), nullable=False),
        sa.Column("skip_holidays", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("updated_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_collection_plans_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_plans")),
    )
    with op.batch_alter_table("collection_plans", schema=None) as batch_op:
        batch_op.create_index("ix_collection_plans_account", ["account_id", "id"], unique=False)

    op.create_table(
        "plan_step_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("due_time", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("callout_id", sa.String(length=40), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_plan_step_runs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_plan_step_runs_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_step_runs")),
    )
    with op.batch_alter_table("plan_step_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plan_step_runs_once", ["invoice_id", "plan_id", "step_index"], unique=True
        )

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created_rows", sa.Integer(), nullable=False),
        sa.Column("updated_rows", sa.Integer(), nullable=False),
        sa.Column("unchanged_rows", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_expires", UTCDateTime(), nullable=True),
        sa.Column("finished_time", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("updated_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_import_jobs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_import_jobs_account", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_import_jobs_due", ["status", "lease_expires"], unique=False)

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("plan_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("plan_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_next_time", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("plan_paused_until", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("plan_reason", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_plan_id_collection_plans"),
            "collection_plans",
            ["plan_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_invoices_plan_due", ["plan_status", "plan_next_time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_plan_due")
        batch_op.drop_constraint(
            batch_op.f("fk_invoices_plan_id_collection_plans"), type_="foreignkey"
        )
        batch_op.drop_column("plan_reason")
        batch_op.drop_column("plan_paused_until")
        batch_op.drop_column("plan_next_time")
        batch_op.drop_column("plan_step")
        batch_op.drop_column("plan_status")
        batch_op.drop_column("plan_id")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_due")
        batch_op.drop_index("ix_import_jobs_account")
    op.drop_table("import_jobs")
    with op.batch_alter_table("plan_step_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_step_runs_once")
    op.drop_table("plan_step_runs")
    with op.batch_alter_table("collection_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_collection_plans_account")
    op.drop_table("collection_plans")
