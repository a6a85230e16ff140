"""Writing the changes of rows a transaction holds locked, many rows per statement.

The ORM writes each changed row of a versioned class (``version_id_col``) with an ``UPDATE`` of
its own, ``WHERE version = <as read>``, and checks that it matched one row: that is how a
concurrent change is caught. asyncpg's ``executemany`` reports no row counts, so SQLAlchemy
cannot batch those statements, and a worker concluding a hundred callouts sends a hundred.

A row read ``FOR UPDATE`` (or inside a SQLite write transaction, which holds the database's
write lock from its ``BEGIN IMMEDIATE``) cannot change under the transaction that read it, so
the version check cannot fail. Such rows are written here with one ``executemany`` per set of
changed columns, their version still advanced (the API's own optimistic check sees the change),
and then taken out of the session so that its flush does not write them again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, Update, bindparam, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty, Mapper

from credira.models.base import Base

_PK = "locked_pk"  # the bound primary key's name: no column has it


async def write_locked(session: AsyncSession, rows: Iterable[Base]) -> None:
    """Write the changed column values of ``rows`` (persistent, of versioned classes with a
    one-column primary key, each locked by this transaction since it was read), then detach
    them from ``session``. Rows without changes are left in the session as they are."""
    groups: dict[tuple[Mapper[Any], tuple[str, ...]], list[dict[str, Any]]] = {}
    statements: dict[Mapper[Any], Update] = {}
    written: list[Base] = []
    for row in rows:
        state = inspect(row)
        if not state.persistent or not state.committed_state:
            continue
        mapper = state.mapper
        if mapper not in statements:
            statements[mapper] = _update_by_key(mapper)
        columns: dict[str, Any] = {}
        for key in state.committed_state:
            prop = mapper.get_property(key)
            if not isinstance(prop, ColumnProperty):
                raise ValueError(f"{mapper.class_.__name__}.{key} is not a column")
            if prop.columns[0] is not mapper.version_id_col:  # advanced by the statement
                columns[prop.columns[0].key] = state.dict[key]
        key_value = mapper.primary_key_from_instance(row)[0]
        groups.setdefault((mapper, tuple(sorted(columns))), []).append({_PK: key_value, **columns})
        written.append(row)
    for (mapper, _), params in groups.items():
        await session.execute(statements[mapper], params)
    for row in written:
        session.expunge(row)


def _update_by_key(mapper: Mapper[Any]) -> Update:
    """``UPDATE`` of one row by its primary key that advances its version; the SET clause
    follows the parameters' keys (one statement serves every set of changed columns)."""
    table = mapper.local_table
    version = mapper.version_id_col
    if not isinstance(table, Table) or version is None or len(mapper.primary_key) != 1:
        raise ValueError(f"{mapper.class_.__name__}: one table, a version, a one-column key")
    return (
        update(table).where(mapper.primary_key[0] == bindparam(_PK)).values({version: version + 1})
    )
