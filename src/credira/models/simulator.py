from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class SimulatedCall(Base):
    """The built-in voice simulator's own record of a placed call.

    It plays the part of a telephony provider's side: durable, deduplicated by idempotency key,
    and independent of which worker process placed the call. Its status at any moment follows
    from ``placed_time`` and the scenario, so any process can answer for it.
    """

    __tablename__ = "simulator_calls"

    idempotency_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    provider_call_id: Mapped[str] = mapped_column(String(60), unique=True)
    to_number: Mapped[str] = mapped_column(String(20))
    from_number: Mapped[str | None] = mapped_column(String(20))
    scenario: Mapped[str] = mapped_column(String(20))
    script: Mapped[str] = mapped_column(Text)
    time_scale: Mapped[float] = mapped_column()
    placed_time: Mapped[datetime] = mapped_column()
    cancelled_time: Mapped[datetime | None] = mapped_column()
    # A conversation agent's call: the record of the scripted debtor's conversation with it.
    conversation: Mapped[dict[str, Any] | None] = mapped_column()
