from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base, Timestamps


class ProviderSetting(Timestamps, Base):
    """An account's settings for one voice provider.

    ``credentials`` is the encrypted JSON of the secret fields (``credira.secret.crypto``);
    ``fields_set`` names every field that holds a value and when it was last set, which is all
    the API ever shows of them.
    """

    __tablename__ = "provider_settings"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    credentials: Mapped[str] = mapped_column(Text)
    api_base: Mapped[str | None] = mapped_column(String(300))
    fields_set: Mapped[dict[str, Any]] = mapped_column()
    # What the provider allows the account at once (None: no limit of Credira's): calls in
    # progress, and calls started in any one second. The worker holds dials past them.
    max_concurrent_calls: Mapped[int | None] = mapped_column()
    calls_per_second: Mapped[int | None] = mapped_column()


class ProviderCall(Base):
    """A real provider's side of one attempt, as far as Credira knows it.

    Written before the provider is asked to dial (``dial_time``), keyed by the attempt's
    idempotency key, so an attempt whose dial was interrupted is looked up, never dialled
    again. The provider's callbacks (and, when they stop coming, its REST API) fill it in;
    the worker following the call reads it. ``reported`` is the provider's last status in the
    voice port's terms, which only moves forward.
    """

    __tablename__ = "provider_calls"
    __table_args__ = (Index("ix_provider_calls_provider_id", "provider", "provider_call_id"),)

    idempotency_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    # Goes with the call (its invoice or callout deleted): the script names the debtor.
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_call_id: Mapped[str | None] = mapped_column(String(120))
    to_number: Mapped[str] = mapped_column(String(20))
    from_number: Mapped[str | None] = mapped_column(String(20))
    script: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    voice: Mapped[str] = mapped_column(String(64))
    reported: Mapped[str] = mapped_column(String(20))
    answered_by: Mapped[str | None] = mapped_column(String(40))
    digits: Mapped[str | None] = mapped_column(String(20))
    answered_time: Mapped[datetime | None] = mapped_column()
    ended_time: Mapped[datetime | None] = mapped_column()
    duration: Mapped[int | None] = mapped_column()
    cost: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str | None] = mapped_column(String(3))
    recording_url: Mapped[str | None] = mapped_column(String(1000))
    # The provider's own transcript (an AI agent's conversation), when it keeps one.
    transcript: Mapped[str | None] = mapped_column(Text)
    # Our own agent's call: ``{"context": ...}`` when dialled, ``"record"`` added when the
    # conversation ends (``credira.conversation``); None for a script agent's call.
    conversation: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))
    dial_time: Mapped[datetime] = mapped_column()
    # When the provider last told us something (a callback or a read of its API).
    heard_time: Mapped[datetime] = mapped_column()
