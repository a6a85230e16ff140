"""Which database errors mean "the database is away" (503, retry) and which are bugs (500).

The end-to-end cases (a cut connection, a terminated session) are in test_database_down.py;
these are the server's own refusals that a proxy cannot produce: a server starting up or out of
connection slots.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, OperationalError

from credira.api.errors import database_unavailable


def _as_sqlalchemy_raises(driver_error: Exception, *, invalidated: bool = False) -> DBAPIError:
    """``driver_error`` wrapped as SQLAlchemy's asyncpg dialect wraps it, causes chained."""
    adapt: Any = AsyncAdapt_asyncpg_dbapi.Error
    try:
        try:
            raise adapt(str(driver_error), driver_error) from driver_error
        except AsyncAdapt_asyncpg_dbapi.Error as adapted:
            raise DBAPIError(
                "SELECT 1", None, adapted, connection_invalidated=invalidated
            ) from adapted
    except DBAPIError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("driver_error", "unavailable"),
    [
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients already"), True),
        (asyncpg.exceptions.QueryCanceledError("canceling statement due to timeout"), True),
        (ConnectionResetError("connection reset by peer"), True),
        (asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'), False),
        (asyncpg.exceptions.NumericValueOutOfRangeError("integer out of range"), False),
        (asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_database_error_kind(driver_error: Exception, unavailable: bool) -> None:
    assert database_unavailable(_as_sqlalchemy_raises(driver_error)) is unavailable


def test_an_error_on_a_connection_sqlalchemy_invalidated_is_unavailable() -> None:
    error = _as_sqlalchemy_raises(RuntimeError("connection was closed"), invalidated=True)
    assert database_unavailable(error) is True


def test_an_operational_error_is_unavailable() -> None:
    error = OperationalError("SELECT 1", None, Exception("database is locked"))
    assert database_unavailable(error) is True
