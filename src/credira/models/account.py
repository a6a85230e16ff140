from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class Account(Base):
    """A business using Credira. Every other object belongs to exactly one account."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_time: Mapped[datetime] = mapped_column()


class AdminKey(Base):
    """The platform admin key, stored only as its SHA-256 hash."""

    __tablename__ = "admin_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_time: Mapped[datetime] = mapped_column()
    revoked_time: Mapped[datetime | None] = mapped_column()


class PlatformSecret(Base):
    """Secrets the service generates for itself on first start (the link-signing key), shared
    by every process that uses the database."""

    __tablename__ = "platform_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_time: Mapped[datetime] = mapped_column()
