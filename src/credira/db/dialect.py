"""The few statements that differ between SQLite and PostgreSQL, behind named helpers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return str(session.get_bind().dialect.name)


def insert_ignore(session: AsyncSession, table: Any, key: list[str], values: dict[str, Any]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` in the session's dialect."""
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=key)
