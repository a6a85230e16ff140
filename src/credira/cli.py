"""The ``credira`` command: serve | migrate | admin ..."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from credira import __version__
from credira.config import Settings

if TYPE_CHECKING:
    from credira.wiring import Parts
    from credira.worker.runner import Worker


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid settings: {exc}") from exc


def _prepare(settings: Settings) -> str:
    """For a command that needs the schema: an empty database is migrated first, one at another
    revision is refused with the reason (never a traceback). Returns what was done."""
    from credira.bootstrap import SchemaOutOfDate, prepare_schema

    try:
        with _database_errors(settings):
            return prepare_schema(settings)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc


# -- reaching the database at start -------------------------------------------------------------

DEFAULT_DATABASE_WAIT = 30.0
FIRST_RETRY, LONGEST_RETRY = 0.5, 5.0
CONNECT_TIMEOUT = 5.0
# What a SQLite file that cannot be used says; other SQLite errors are not about reaching it.
SQLITE_CANNOT_OPEN = ("unable to open", "not a database", "readonly", "disk i/o")

F = TypeVar("F", bound=Callable[..., Any])


def _wait_option(command: F) -> F:
    option = click.option(
        "--wait-for-database",
        "wait_for_database",
        type=click.FloatRange(min=0),
        default=DEFAULT_DATABASE_WAIT,
        show_default=True,
        envvar="CREDIRA_DATABASE_WAIT_SECONDS",
        show_envvar=True,
        metavar="SECONDS",
        help=(
            "When PostgreSQL cannot be reached at start (refused, timed out, unknown host, "
            "starting up, too many connections), retry with backoff (0.5 s doubling to 5 s) for "
            "up to this long, logging each failure (database.unreachable), then exit with "
            "status 1 and one line naming the database and what failed. 0: give up at once. "
            "A wrong password, a missing database or a SQLite file that cannot be opened is "
            "never retried."
        ),
    )
    return option(command)


def _unreachable(exc: BaseException, sqlite: bool) -> tuple[str, bool] | None:
    """What failed and whether waiting may help, when ``exc`` means the database could not be
    reached or opened; None for any other error (which is then raised as it is)."""
    import socket

    import asyncpg
    from sqlalchemy.exc import DBAPIError

    root: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        root = exc.orig.__cause__ or exc.orig
    if sqlite:
        opening = type(root).__module__ == "sqlite3" and any(
            marker in str(root).lower() for marker in SQLITE_CANNOT_OPEN
        )
        if isinstance(root, OSError) or opening:
            return str(root) or type(root).__name__, False
        return None
    if isinstance(root, ConnectionRefusedError):
        return "connection refused", True
    if isinstance(root, socket.gaierror):
        return f"cannot resolve the host name ({root.strerror})", True
    if isinstance(root, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s", True
    if isinstance(root, OSError | asyncpg.ConnectionDoesNotExistError):
        return str(root) or type(root).__name__, True
    if isinstance(root, asyncpg.PostgresError):
        state = str(getattr(root, "sqlstate", "") or "")
        # 08: connection exceptions; 57P03: starting up or shutting down; 53300: too many
        # connections. 28 (authorization) and 3D000 (no such database) need an operator.
        waiting_helps = state.startswith("08") or state in ("57P03", "53300")
        if waiting_helps or state.startswith("28") or state == "3D000":
            return str(root), waiting_helps
    return None


@contextlib.contextmanager
def _database_errors(settings: Settings) -> Iterator[None]:
    """A failure to reach the database becomes one line instead of a traceback."""
    try:
        yield
    except Exception as exc:
        failure = _unreachable(exc, settings.is_sqlite)
        if failure is None:
            raise
        raise click.ClickException(_cannot_reach(settings, failure[0])) from exc


def _cannot_reach(settings: Settings, reason: str) -> str:
    verb = "open" if settings.is_sqlite else "connect to"
    return f"cannot {verb} the database at {_redact(settings.resolved_database_url)}: {reason}"


async def _ping(settings: Settings) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from credira.db.engine import ping

    url = settings.resolved_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, poolclass=NullPool)
    else:
        engine = create_async_engine(
            url, poolclass=NullPool, connect_args={"timeout": CONNECT_TIMEOUT}
        )
    try:
        await ping(engine)
    finally:
        await engine.dispose()


def _wait_for_database(settings: Settings, within: float) -> None:
    """Return once the database answers; retry a server that is not reachable yet for up to
    ``within`` seconds (a worker started with, or before, its database), else exit with one
    line. Failures that waiting cannot fix exit at once."""
    import structlog

    log = structlog.get_logger("credira.cli")
    began = time.monotonic()
    delay, attempts = FIRST_RETRY, 0
    while True:
        attempts += 1
        try:
            asyncio.run(_ping(settings))
            return
        except Exception as exc:
            failure = _unreachable(exc, settings.is_sqlite)
            if failure is None:
                raise
            reason, waiting_helps = failure
            waited = time.monotonic() - began
            if not waiting_helps or waited + delay > within:
                gave_up = (
                    f" (gave up after {waited:.0f} s, {attempts} attempts)" if attempts > 1 else ""
                )
                raise click.ClickException(_cannot_reach(settings, reason) + gave_up) from None
            log.warning(
                "database.unreachable",
                database=_redact(settings.resolved_database_url),
                error=reason,
                attempt=attempts,
                retry_in=delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY)


@click.group()
@click.version_option(__version__, prog_name="credira")
def main() -> None:
    """Credira: debt-recovery outreach by scheduled voice calls and emails."""


@main.command()
@click.option("--host", default=None, help="Interface to bind (default CREDIRA_HOST or 127.0.0.1)")
@click.option("--port", default=None, type=int, help="Port (default CREDIRA_PORT or 8000)")
@_wait_option
def serve(host: str | None, port: int | None, wait_for_database: float) -> None:
    """Run the HTTP API (migrating an empty database first).

    A database that cannot be reached at start is waited for (see --wait-for-database); one
    that goes away later makes requests answer 503 until it is back.
    """
    import uvicorn

    from credira.api.protocol import head_limited
    from credira.app import create_app
    from credira.bootstrap import ensure_admin_key
    from credira.logging import configure

    settings = _settings()
    configure(settings.log_level, json=settings.log_json)
    _wait_for_database(settings, wait_for_database)
    done = _prepare(settings)
    with _database_errors(settings):
        key = ensure_admin_key(settings)
    host = host or settings.host
    port = port or settings.port
    if "public_url" not in settings.model_fields_set and _one_address(host):
        # Links in replies (recordings, transcripts, tracking) point where this serves, unless
        # CREDIRA_PUBLIC_URL says where clients reach it (as it must behind a proxy, or when
        # listening on every interface).
        settings = settings.model_copy(update={"public_url": f"http://{host}:{port}"})
    click.echo(
        f"credira {__version__}: database {_redact(settings.resolved_database_url)} ({done})"
    )
    if key is not None:
        click.echo(f"admin key (shown once, stored only as a hash): {key}")
    elif settings.admin_key:
        click.echo("admin key: from CREDIRA_ADMIN_KEY")
    else:
        click.echo(
            "admin key: already stored (hashed); `credira admin rotate-admin-key` makes a new one"
        )
    worker_note = "embedded worker on" if settings.embedded_worker else "no embedded worker"
    click.echo(f"listening on http://{host}:{port} (API under /v1, docs at /docs; {worker_note})")
    sys.stdout.flush()
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        http=head_limited(settings.max_header_bytes),
    )


def _one_address(host: str) -> bool:
    """Whether ``host`` names one address (not "every interface", 0.0.0.0 or ::)."""
    try:
        return not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return True  # a host name


@main.command()
@_wait_option
def worker(wait_for_database: float) -> None:
    """Run a worker alone (any number of them against one PostgreSQL database).

    A database that cannot be reached at start is waited for (see --wait-for-database), so a
    worker may start before its database; once running, the worker rides out outages by
    itself.
    """
    from credira.logging import configure

    settings = _settings()
    configure(settings.log_level, json=settings.log_json)
    _wait_for_database(settings, wait_for_database)
    _prepare(settings)
    from credira.kit import process

    process.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from credira.wiring import run_worker

    def started(runner: Worker, _: Parts) -> None:
        click.echo(
            f"worker {runner.worker_id} running on {_redact(settings.resolved_database_url)}"
        )
        sys.stdout.flush()

    await run_worker(settings, started=started)


@main.command()
def migrate() -> None:
    """Apply every pending schema migration."""
    from alembic.util import CommandError

    from credira.db import migrate as migrations

    settings = _settings()
    url = settings.resolved_database_url
    try:
        with _database_errors(settings):
            if settings.is_sqlite:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            migrations.upgrade(url)
    except CommandError as exc:
        # e.g. a revision written by a newer release: say so instead of a traceback.
        raise click.ClickException(
            f"cannot migrate {_redact(url)}: {exc} (expected a revision up to "
            f"{migrations.head_revision(url)}; a newer release of Credira may have migrated it)"
        ) from exc
    click.echo(f"database at {migrations.head_revision(url)}")


@main.command()
@click.option("--output", "output", default=None, metavar="FILE", help="Write it there")
def openapi(output: str | None) -> None:
    """Print the OpenAPI document this server serves (the committed copy:
    ``./dev openapi --output openapi.json``, with no CREDIRA_ limit settings)."""
    import json

    from credira.app import create_app

    text = json.dumps(create_app(_settings()).openapi(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)


@main.command()
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds each check may take",
)
def doctor(timeout: float) -> None:
    """Check the database and its schema, the mail server, Redis, the stored secrets, the
    voice providers, the webhook endpoints and the worker; say what is wrong, exit 1 if
    anything is."""
    from credira.doctor.checks import check_all

    findings = asyncio.run(check_all(_settings(), within=timeout))
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for finding in findings:
        click.echo(f"{marks[finding.level]}  {finding.topic}: {finding.text}")
    failed = sum(1 for finding in findings if finding.level == "fail")
    if failed:
        click.echo(f"{failed} problem{'s' if failed > 1 else ''} found", err=True)
        sys.exit(1)
    click.echo("no problems found")


@main.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--show", "show", default=None, metavar="MESSAGE_ID", help="Print one message")
def outbox(limit: int, show: str | None) -> None:
    """List the emails written to the local outbox (when no CREDIRA_SMTP_URL is set)."""
    from credira.channel.email import find_outbox_message, list_outbox, outbox_folder

    settings = _settings()
    folder = outbox_folder(settings)
    if settings.smtp_url:
        click.echo("note: CREDIRA_SMTP_URL is set, so new emails go to SMTP, not here", err=True)
    if show is not None:
        message = find_outbox_message(folder, show)
        if message is None:
            raise click.ClickException(f"no message {show} in {folder}")
        for name in ("Date", "From", "To", "Subject", "Message-ID"):
            click.echo(f"{name}: {message[name] or ''}")
        body = message.get_body(("plain",))
        click.echo("")
        click.echo(str(body.get_content()).rstrip("\n") if body is not None else "(no text part)")
        return
    entries = list_outbox(folder, limit=limit)
    if not entries:
        click.echo(f"the outbox {folder} is empty")
        return
    rows = [("DATE (UTC)", "TO", "SUBJECT", "MESSAGE-ID")] + [
        (
            entry.date.strftime("%Y-%m-%d %H:%M:%S"),
            _clip(entry.to, 40),
            _clip(entry.subject, 50),
            entry.message_id,
        )
        for entry in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[3]]))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@main.group("import")
def import_() -> None:
    """Import data from files."""


@import_.command("invoices")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--plan", "plan_id", default=None, metavar="PLAN_ID", help="Attach this plan")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the good rows; the bad ones go to FILE.rejected.csv",
)
@click.option(
    "--account-id", default=None, help="The account (default: the plan's, or the only one)"
)
def import_invoices(
    file: Path, plan_id: str | None, skip_invalid: bool, account_id: str | None
) -> None:
    """Import invoices from a CSV file (credira.invoice.csv_import documents the columns).
    Every row is checked first: one bad row and nothing is written. Idempotent on the
    invoice number."""
    from credira.invoice.import_cli import ImportRefused, run_import

    settings = _settings()
    _prepare(settings)
    try:
        with _database_errors(settings):
            asyncio.run(
                run_import(
                    settings,
                    file,
                    plan_id=plan_id,
                    skip_invalid=skip_invalid,
                    account_id=account_id,
                )
            )
    except ImportRefused as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def admin() -> None:
    """Operator commands that need no admin key."""


@admin.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--company", required=True)
@click.option("--account-id", default=None, help="Existing account (default: a new one)")
@click.option("--role", default=None)
def create_user(
    email: str, name: str, company: str, account_id: str | None, role: str | None
) -> None:
    """Create a user and print its API key (shown once)."""
    from pydantic import ValidationError

    from credira.api.errors import validation_error
    from credira.user.schemas import UserCreate

    settings = _settings()
    try:
        body = UserCreate(email=email, name=name, company=company, account_id=account_id, role=role)
    except ValidationError as exc:
        error = validation_error(exc.errors())
        raise click.ClickException(f"{error.message}: {error.details or ''}".rstrip(": ")) from exc
    _prepare(settings)
    with _database_errors(settings):
        user_id, acc, key = asyncio.run(_create_user(settings, body))
    click.echo(f"user {user_id} in account {acc}")
    click.echo(f"api key (shown once): {key}")


async def _create_user(settings: Settings, body: object) -> tuple[str, str, str]:
    from credira.auth.principal import Principal
    from credira.db.engine import create_engine, create_sessionmaker
    from credira.errors import CrediraError
    from credira.kit.clock import SystemClock
    from credira.user import service
    from credira.user.schemas import UserCreate

    assert isinstance(body, UserCreate)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            admin = Principal(None, None, frozenset(), is_admin=True)
            try:
                user, key = await service.create_user(session, admin, body, SystemClock().now())
            except CrediraError as exc:
                raise click.ClickException(exc.message) from exc
            await session.commit()
            return user.id, user.account_id, key
    finally:
        await engine.dispose()


@admin.command("rotate-admin-key")
def rotate_admin_key() -> None:
    """Revoke the stored admin key and print a new one (shown once)."""
    from credira.bootstrap import ensure_admin_key

    settings = _settings()
    _prepare(settings)
    with _database_errors(settings):
        key = ensure_admin_key(settings, rotate=True)
    click.echo(f"admin key (shown once): {key}")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
