from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base, Timestamps


class VoiceAgent(Timestamps, Base):
    __tablename__ = "voice_agents"
    __table_args__ = (Index("ix_voice_agents_account", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(32))
    # "script": the provider plays the rendered script and gathers keypad input.
    mode: Mapped[str] = mapped_column(String(20), default="script", server_default="script")
    voice: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(35))
    from_number: Mapped[str | None] = mapped_column(String(20))
    script: Mapped[str] = mapped_column(Text)
    max_duration: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_by: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
