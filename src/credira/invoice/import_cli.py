"""``credira import invoices FILE.csv [--plan ID] [--skip-invalid]``: a team's first day.
Every row is checked before anything is written; the rows are then written a chunk per
transaction, with a progress bar and a summary (``credira.invoice.importer``)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.ext.asyncio import AsyncSession

from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.invoice import csv_import, import_repository, importer
from credira.kit.clock import SystemClock
from credira.models import Account, CollectionPlan
from credira.plan import repository as plan_repository

SHOWN_ERRORS = 50


class ImportRefused(Exception):
    """The file, the plan or the account cannot be used; nothing was written."""


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def check_file(path: Path, console: Console, *, skip_invalid: bool) -> csv_import.Parsed:
    """Read and check every row; refuse the file (naming each bad row) unless
    ``skip_invalid``, then the bad rows go to ``<name>.rejected.csv`` beside it."""
    text = path.read_text(encoding="utf-8-sig")
    lines = max(text.count("\n"), 1)
    with _progress(console) as progress:
        task = progress.add_task("checking", total=lines)
        try:
            parsed = csv_import.parse(text, lambda n: progress.advance(task, n))
        except csv_import.HeaderError as exc:
            raise ImportRefused(str(exc)) from exc
        progress.update(task, total=parsed.total, completed=parsed.total)
    if parsed.errors:
        for error in parsed.errors[:SHOWN_ERRORS]:
            console.print(f"[red]{error}[/red]", highlight=False)
        if len(parsed.errors) > SHOWN_ERRORS:
            console.print(f"... and {len(parsed.errors) - SHOWN_ERRORS} more")
        if not skip_invalid:
            raise ImportRefused(
                f"{parsed.bad_lines} bad row(s) in {path}: nothing was imported "
                "(fix them, or pass --skip-invalid to import the good rows)"
            )
        rejected = path.with_name(f"{path.stem}.rejected.csv")
        rejected.write_text(csv_import.bad_rows_csv(parsed), encoding="utf-8")
        console.print(f"{parsed.bad_lines} bad row(s) left out, written to {rejected}")
    return parsed


async def run_import(
    settings: Settings,
    path: Path,
    *,
    plan_id: str | None,
    skip_invalid: bool,
    account_id: str | None,
    console: Console | None = None,
) -> importer.Counts:
    """Check ``path`` and write its rows; the counts. Raises ``ImportRefused``."""
    console = console or Console(stderr=True)
    parsed = check_file(path, console, skip_invalid=skip_invalid)
    engine = create_engine(settings)
    clock = SystemClock()
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            plan, account_id = await _target(session, plan_id, account_id)
            if plan is None:
                plan = await plan_repository.default_for(session, account_id)
        columns = frozenset(parsed.header)
        rows = [body for _, body in parsed.rows]
        counts = importer.Counts()
        started = time.perf_counter()
        with _progress(console) as progress:
            task = progress.add_task("importing", total=len(rows))
            for offset in range(0, len(rows), importer.CHUNK):
                chunk = rows[offset : offset + importer.CHUNK]
                async with sessions() as session:
                    counts.add(
                        await importer.write_chunk(
                            session,
                            account_id,
                            None,
                            chunk,
                            columns,
                            plan,  # read only: its columns, loaded once
                            clock.now(),
                            attach_existing=plan_id is not None,
                        )
                    )
                    await session.commit()
                progress.advance(task, len(chunk))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    rate = len(rows) / elapsed if elapsed > 0 else 0.0
    console.print(
        f"{len(rows)} row(s) in {elapsed:.1f} s ({rate:,.0f} rows/s): {counts.created} created, "
        f"{counts.updated} updated, {counts.unchanged} unchanged"
        + (f", {parsed.bad_lines} left out" if parsed.bad_lines else ""),
        highlight=False,
    )
    return counts


async def _target(
    session: AsyncSession, plan_id: str | None, account_id: str | None
) -> tuple[CollectionPlan | None, str]:
    """The plan named, and the account: the plan's, the one named, or the only one."""
    plan = None
    if plan_id is not None:
        plan = await session.get(CollectionPlan, plan_id)
        if plan is None or (account_id is not None and plan.account_id != account_id):
            where = f" in account {account_id}" if account_id else ""
            raise ImportRefused(f"no collection plan {plan_id}{where}")
        account_id = plan.account_id
    if account_id is None:
        account_id = await import_repository.only_account(session)
        if account_id is None:
            raise ImportRefused(
                "the database holds no account or several: name one with --account-id"
            )
    elif await session.get(Account, account_id) is None:
        raise ImportRefused(f"no account {account_id}")
    return plan, account_id
