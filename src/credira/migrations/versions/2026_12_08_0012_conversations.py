"""Our own agent's conversations: the context a conversation agent's call is dialled with and
the record it leaves (turns with times, tool calls, outcome), on the provider's row of the
call (Twilio, Telnyx) and on the simulator's.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 03:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("provider_calls") as batch:
        batch.add_column(sa.Column("conversation", _JSON, nullable=True))
    with op.batch_alter_table("simulator_calls") as batch:
        batch.add_column(sa.Column("conversation", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("simulator_calls") as batch:
        batch.drop_column("conversation")
    with op.batch_alter_table("provider_calls") as batch:
        batch.drop_column("conversation")
