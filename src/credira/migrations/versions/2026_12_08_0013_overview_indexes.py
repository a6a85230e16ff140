"""The dashboard's indexes: an account's callouts by the day they are scheduled for, its
scheduled callouts in due order, its held ones by reason, its events of one type in time, and its
callouts, calls, emails and invoices in id order (the lists, whatever the filter).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_LISTED = ("callouts", "calls", "emails", "invoices")


def upgrade() -> None:
    op.create_index(
        "ix_callouts_account_scheduled", "callouts", ["account_id", "scheduled_time", "status"]
    )
    op.create_index("ix_callouts_account_run", "callouts", ["account_id", "status", "run_at"])
    # Only the held ones: counting them by reason reads a few rows, not every scheduled one.
    op.create_index(
        "ix_callouts_account_held",
        "callouts",
        ["account_id", "status", "hold_reason"],
        postgresql_where=sa.text("hold_reason IS NOT NULL"),
        sqlite_where=sa.text("hold_reason IS NOT NULL"),
    )
    op.create_index(
        "ix_events_account_type", "events", ["account_id", "type", "created_time", "object_id"]
    )
    for table in _LISTED:
        op.create_index(f"ix_{table}_account_id", table, ["account_id", "id"])
    op.create_index("ix_emails_account_status", "emails", ["account_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_emails_account_status", table_name="emails")
    for table in reversed(_LISTED):
        op.drop_index(f"ix_{table}_account_id", table_name=table)
    op.drop_index("ix_events_account_type", table_name="events")
    op.drop_index("ix_callouts_account_held", table_name="callouts")
    op.drop_index("ix_callouts_account_run", table_name="callouts")
    op.drop_index("ix_callouts_account_scheduled", table_name="callouts")
