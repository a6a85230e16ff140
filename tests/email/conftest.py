"""Helpers for the email tests: accounts and emails written straight through the ORM.

Modules whose cases each work in accounts of their own use the root conftest's one app per test
module and backend (``shared_app``, ``shared_client``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.kit.ids import new_id, new_token
from credira.models import Account, Email, Suppression

PUBLIC_URL = "http://testserver"  # the root conftest's CREDIRA_PUBLIC_URL


@dataclass
class Mailbox:
    """Writes and reads ``emails`` and ``suppressions`` rows of the app under test."""

    app: FastAPI

    @property
    def key(self) -> bytes:
        key: bytes = self.app.state.runtime.signing_key
        assert key, "the app started without its signing key"
        return key

    async def account(self) -> str:
        account_id = new_id("account")
        async with self.app.state.runtime.sessionmaker() as session:
            session.add(
                Account(id=account_id, name="Acme", settings={}, created_time=datetime.now(UTC))
            )
            await session.commit()
        return account_id

    async def email(self, account_id: str, **overrides: Any) -> Email:
        now = datetime.now(UTC)
        token = new_token()
        values: dict[str, Any] = {
            "id": f"email_{token}",
            "account_id": account_id,
            "attempt_id": f"attempt_{token}",
            "idempotency_key": f"email:{token}",
            "message_id": f"<{token}@credira.localhost>",
            "tracking_id": f"track_{token}",
            "recipient_email": "john.doe@example.com",
            "recipient_name": "John Doe",
            "subject": "Invoice INV-1 is overdue",
            "html_body": "<p>Please pay</p>",
            "text_body": "Please pay",
            "origin": "send_email",
            "email_type": "payment_reminder",
            "priority": "medium",
            "priority_rank": 2,
            "status": "delivered",
            "scheduled_time": now,
            "run_at": now,
            "attempt_count": 1,
            "sent_time": now,
            "delivered_time": now,
            "metadata_": {},
            "created_time": now,
            "updated_time": now,
        }
        values.update(overrides)
        async with self.app.state.runtime.sessionmaker() as session:
            session.add(Email(**values))
            await session.commit()
        return await self.get(values["id"])

    async def get(self, email_id: str) -> Email:
        sessions: async_sessionmaker[AsyncSession] = self.app.state.runtime.sessionmaker
        async with sessions() as session:
            email = await session.get(Email, email_id)
            assert email is not None
            return email

    async def suppressions(self, account_id: str) -> list[tuple[str, str]]:
        """The account's suppressions as (channel, value), oldest first."""
        async with self.app.state.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(Suppression.channel, Suppression.value)
                .where(Suppression.account_id == account_id)
                .order_by(Suppression.id)
            )
            return [(channel, value) for channel, value in rows.all()]


@pytest.fixture
def mailbox(app: FastAPI) -> Mailbox:
    return Mailbox(app)
