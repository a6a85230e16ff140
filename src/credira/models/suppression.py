from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class Suppression(Base):
    """A phone number or email address the account must no longer contact (opt-out)."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index("ix_suppressions_lookup", "account_id", "channel", "value", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(40))
    created_time: Mapped[datetime] = mapped_column()
