"""``alembic upgrade head`` builds exactly the models' schema, and downgrades cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from credira.db import migrate
from credira.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _run(url: str, fn: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def run(url: str, fn: Any) -> Any:
    return asyncio.run(_run(url, fn))


def test_upgrade_head_matches_the_models(empty_url: str) -> None:
    # The comparison sees the schema: on the empty database every table is missing.
    missing = {d[1].name for d in run(empty_url, _diff) if d[0] == "add_table"}
    assert missing == {t.name for t in Base.metadata.sorted_tables}

    migrate.upgrade(empty_url)

    assert run(empty_url, _diff) == []
    assert run(empty_url, _tables) == {t.name for t in Base.metadata.sorted_tables} | {
        "alembic_version"
    }
    assert migrate.current_state(empty_url) == (migrate.head_revision(empty_url), True)


def test_downgrade_to_base_leaves_no_tables_and_upgrade_works_again(empty_url: str) -> None:
    migrate.upgrade(empty_url)

    migrate.downgrade(empty_url, "base")

    assert run(empty_url, _tables) <= {"alembic_version"}
    assert migrate.current_state(empty_url)[0] is None

    migrate.upgrade(empty_url)
    assert run(empty_url, _diff) == []
    assert migrate.current_state(empty_url)[0] == migrate.head_revision(empty_url)


def test_every_revision_steps_down_one_at_a_time(empty_url: str) -> None:
    """No one-way migration: each revision downgrades alone, down to an empty database."""
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_url))
    expected = [r.revision for r in script.walk_revisions()]  # head first
    migrate.upgrade(empty_url)

    seen = []
    while (current := migrate.current_state(empty_url)[0]) is not None:
        seen.append(current)
        migrate.downgrade(empty_url, "-1")

    assert seen == expected
    assert run(empty_url, _tables) <= {"alembic_version"}
