from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class DashboardSession(Base):
    """A browser's sign-in to the dashboard, made from one of the user's API keys.

    Only the SHA-256 of the cookie's random token is kept; revoking the key, or the user going
    inactive, ends the session on its next request (it is read joined with both)."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index("ix_dashboard_sessions_expires", "expires_time"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    created_time: Mapped[datetime] = mapped_column()
    last_seen_time: Mapped[datetime] = mapped_column()
    # The absolute end (created + the longest a session lives); idle ends come sooner.
    expires_time: Mapped[datetime] = mapped_column()
