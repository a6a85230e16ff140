"""The ``credira`` command: serve | migrate | admin ..."""

from __future__ import annotations

import asyncio
import sys

import click

from credira import __version__
from credira.config import Settings


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
        return prepare_schema(settings)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
@click.version_option(__version__, prog_name="credira")
def main() -> None:
    """Credira: debt-recovery outreach by scheduled voice calls and emails."""


@main.command()
@click.option("--host", default=None, help="Interface to bind (default CREDIRA_HOST or 127.0.0.1)")
@click.option("--port", default=None, type=int, help="Port (default CREDIRA_PORT or 8000)")
def serve(host: str | None, port: int | None) -> None:
    """Run the HTTP API (migrating an empty database first)."""
    import uvicorn

    from credira.app import create_app
    from credira.bootstrap import ensure_admin_key
    from credira.logging import configure

    settings = _settings()
    configure(settings.log_level, json=settings.log_json)
    done = _prepare(settings)
    key = ensure_admin_key(settings)
    host = host or settings.host
    port = port or settings.port
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
    )


@main.command()
def worker() -> None:
    """Run a worker alone (any number of them against one PostgreSQL database)."""
    from credira.bootstrap import SchemaOutOfDate, prepare_schema
    from credira.logging import configure

    settings = _settings()
    configure(settings.log_level, json=settings.log_json)
    try:
        prepare_schema(settings)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    import signal

    from credira.db.engine import create_engine, create_sessionmaker
    from credira.kit.clock import SystemClock
    from credira.wiring import build_worker, voice_providers

    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    reads = create_sessionmaker(engine, write=False)
    clock = SystemClock()
    voice = voice_providers(settings, sessions, reads, clock)
    runner = build_worker(settings, sessions, reads, clock, voice)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"worker {runner.worker_id} running on {_redact(settings.resolved_database_url)}")
    sys.stdout.flush()
    try:
        await runner.run(stop)
    finally:
        await engine.dispose()


@main.command()
def migrate() -> None:
    """Apply every pending schema migration."""
    from alembic.util import CommandError

    from credira.db import migrate as migrations

    settings = _settings()
    url = settings.resolved_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(url)
    except CommandError as exc:
        # e.g. a revision written by a newer release: say so instead of a traceback.
        raise click.ClickException(
            f"cannot migrate {_redact(url)}: {exc} (expected a revision up to "
            f"{migrations.head_revision(url)}; a newer release of Credira may have migrated it)"
        ) from exc
    click.echo(f"database at {migrations.head_revision(url)}")


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
    key = ensure_admin_key(settings, rotate=True)
    click.echo(f"admin key (shown once): {key}")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
