from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class DailyUsage(Base):
    """How many calls an account placed, or emails it sent, on one UTC day: the counters its
    daily cost cap is taken against (see ``credira.caps.repository``).

    The day's count is the sum of its stripes; each dial (each first send) adds one to a
    stripe with a conditional ``UPDATE``, so concurrent workers never overshoot the cap and
    seldom wait for each other. A day's stripes are written on first use from the calls and
    emails already recorded that day.
    """

    __tablename__ = "daily_usage"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "call" | "email"
    stripe: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column()
