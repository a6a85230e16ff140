from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from credira.models.base import Base


class IdempotencyRecord(Base):
    """The stored reply to a POST sent with an ``Idempotency-Key``, per account.

    Written in the same transaction as the effect it records, so a replay and the effect can
    never disagree.
    """

    __tablename__ = "idempotency_keys"

    # The account id, or "admin" for the platform admin key.
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_time: Mapped[datetime] = mapped_column(index=True)
