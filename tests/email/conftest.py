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

from credira.models import Email, Suppression
from tests import factories

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
        account = factories.account(datetime.now(UTC))
        async with self.app.state.runtime.sessionmaker() as session:
            session.add(account)
            await session.commit()
            return account.id

    async def email(self, account_id: str, **overrides: Any) -> Email:
        """A delivered email (unless told otherwise), sent now."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "status": "delivered",
            "attempt_count": 1,
            "sent_time": now,
            "delivered_time": now,
            **overrides,
        }
        row = factories.email(account_id, now, **values)
        async with self.app.state.runtime.sessionmaker() as session:
            session.add(row)
            await session.commit()
            email_id = row.id
        return await self.get(email_id)

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
