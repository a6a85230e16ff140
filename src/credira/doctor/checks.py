"""The doctor's checks: the database and its schema, the mail server, Redis, the LLM, the
stored secrets and each account's voice provider, the webhook endpoints, and whether due work is
being done. Each says in plain words what it found; ``fail`` findings make ``credira doctor``
exit non-zero. Nothing is changed: the checks only read, connect and ask."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import cast

import aiosmtplib
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from credira.channel.email.factory import outbox_folder
from credira.channel.email.smtp import parse_smtp_url
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.db.migrate import head_revision, is_known_revision
from credira.doctor import repository
from credira.doctor.finding import Finding
from credira.doctor.llm import llm_check
from credira.doctor.providers import provider_check
from credira.metrics.repository import callout_gauges
from credira.provider.schemas import DEFAULT_API_BASE
from credira.secret.crypto import KEY_FILE, Cipher, DecryptionFailed, cipher_for

# Due work older than this means no worker is taking it.
OVERDUE_SECONDS = 300.0


def redact(url: str) -> str:
    """A URL without its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"


def _why(exc: BaseException) -> str:
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    orig = getattr(root, "orig", None)
    if isinstance(orig, BaseException):
        root = orig.__cause__ or orig
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, TimeoutError):
        return "no answer in time"
    text = str(root).strip().splitlines()
    return text[0].rstrip(".") if text else type(root).__name__


async def check_all(settings: Settings, *, within: float = 10.0) -> list[Finding]:
    """Every check, in order; the database ones only when the database answers."""
    findings: list[Finding] = []
    engine = create_engine(settings)
    try:
        database_ok = await _guarded(findings, "database", within, _database(settings, engine))
        await _guarded(findings, "email", within, _email(settings, within))
        await _guarded(findings, "redis", within, _redis(settings, within))
        await _guarded(findings, "llm", within, llm_check(settings, within))
        if database_ok:
            slow = within * 3  # a provider's API per account
            await _guarded(
                findings, "secrets", slow, _secrets_and_providers(settings, engine, within)
            )
            await _guarded(findings, "webhooks", within, _webhooks(settings, engine))
            await _guarded(findings, "worker", within, _worker(engine))
    finally:
        await engine.dispose()
    return findings


async def _guarded(
    findings: list[Finding],
    topic: str,
    within: float,
    check: Awaitable[list[Finding]],
) -> bool:
    """Run ``check``, keeping its findings; a crash or a hang is a finding too. Whether
    nothing failed."""
    try:
        found = await asyncio.wait_for(check, within)
    except TimeoutError:
        found = [Finding("fail", topic, f"the check did not finish within {within:g} s")]
    except Exception as exc:
        found = [Finding("fail", topic, f"the check could not run: {_why(exc)}")]
    findings.extend(found)
    return all(f.level != "fail" for f in found)


# -- the database -------------------------------------------------------------------------------


async def _database(settings: Settings, engine: AsyncEngine) -> list[Finding]:
    url = settings.resolved_database_url
    where = redact(url)
    try:
        async with engine.connect() as connection:
            current, has_tables, server = await repository.schema_state(connection)
    except Exception as exc:
        hint = (
            "Is the file's folder there and writable?"
            if settings.is_sqlite
            else "Is PostgreSQL running there, and are CREDIRA_DATABASE_URL's host, user and "
            "database right?"
        )
        return [Finding("fail", "database", f"cannot reach {where}: {_why(exc)}. {hint}")]
    head = head_revision(url)
    if current == head:
        return [Finding("ok", "database", f"{server} at {where} answers; schema at {head}")]
    if current is None and not has_tables:
        text = f"the database at {where} is empty: run `credira migrate` (or start `credira serve`)"
    elif current is None:
        text = (
            f"the database at {where} holds tables but no schema revision: it is not a Credira "
            "database. Point CREDIRA_DATABASE_URL at an empty database or a Credira one"
        )
    elif not is_known_revision(url, current):
        text = (
            f"the schema is at revision {current}, which this version does not know (it "
            f"expects {head}): a newer release migrated it. Upgrade Credira or restore a backup"
        )
    else:
        text = f"the schema is at {current}, this version expects {head}: run `credira migrate`"
    return [Finding("fail", "database", text)]


# -- email ---------------------------------------------------------------------------------------


async def _email(settings: Settings, within: float) -> list[Finding]:
    if not settings.smtp_url:
        folder = outbox_folder(settings)
        return [
            Finding(
                "warn",
                "email",
                f"no CREDIRA_SMTP_URL: emails are written as files to {folder}, nobody "
                "receives them",
            )
        ]
    try:
        config = parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        return [Finding("fail", "email", str(exc))]
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        username=config.username,
        password=config.password,
        timeout=min(config.timeout, within),
        use_tls=config.implicit_tls,
        start_tls=False if config.implicit_tls else config.starttls,
        validate_certs=config.tls_verify,
    )
    where = config.redacted
    try:
        await client.connect()
        await client.noop()
    except aiosmtplib.SMTPAuthenticationError as exc:
        return [
            Finding(
                "fail",
                "email",
                f"the mail server {where} refused the user name and password: {exc.code} "
                f"{exc.message}",
            )
        ]
    except aiosmtplib.SMTPResponseException as exc:
        return [Finding("fail", "email", f"the mail server {where} refused us: {exc.code} {exc}")]
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return [Finding("fail", "email", f"cannot reach the mail server {where}: {_why(exc)}")]
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        await client.quit()
    login = f", logged in as {config.username}" if config.username else ""
    return [Finding("ok", "email", f"the mail server {where} answers{login}")]


# -- redis ---------------------------------------------------------------------------------------


async def _redis(settings: Settings, within: float) -> list[Finding]:
    if not settings.redis_url:
        return [
            Finding(
                "ok",
                "redis",
                "no CREDIRA_REDIS_URL: rate limits are counted in each process's memory "
                "(set it when several processes serve the API)",
            )
        ]
    where = redact(settings.redis_url)
    client = aioredis.from_url(
        settings.redis_url, socket_timeout=within, socket_connect_timeout=within
    )
    try:
        await cast(Awaitable[bool], client.ping())
    except Exception as exc:
        return [
            Finding(
                "fail",
                "redis",
                f"cannot reach Redis at {where}: {_why(exc)}. Until it answers, rate limits "
                "are not enforced",
            )
        ]
    finally:
        await client.aclose()
    return [Finding("ok", "redis", f"Redis at {where} answers")]


# -- secrets and voice providers ----------------------------------------------------------------


def _cipher(settings: Settings) -> Cipher | None:
    """The configured cipher; None when no key is set and the data dir has none (making one
    is for the service, not for the doctor)."""
    if not settings.encryption_key and not (settings.data_dir / KEY_FILE).exists():
        return None
    return cipher_for(settings)


async def _secrets_and_providers(
    settings: Settings, engine: AsyncEngine, within: float
) -> list[Finding]:
    async with create_sessionmaker(engine, write=False)() as session:
        settings_rows = await repository.provider_settings(session)
        endpoints = await repository.webhook_endpoints(session)
    stored = len(settings_rows) + sum(len(e.secrets) for e in endpoints)
    try:
        cipher = _cipher(settings)
    except ValueError as exc:
        return [Finding("fail", "secrets", f"CREDIRA_ENCRYPTION_KEY is invalid: {exc}")]
    if cipher is None:
        if stored:
            return [
                Finding(
                    "fail",
                    "secrets",
                    f"{stored} stored secrets (provider credentials, webhook signing secrets) "
                    f"but no CREDIRA_ENCRYPTION_KEY and no {KEY_FILE} in {settings.data_dir}: "
                    "they cannot be read. Restore the key",
                )
            ]
        return [Finding("ok", "secrets", "no stored secrets yet")]
    findings: list[Finding] = []
    unreadable = [f"webhook {e.id}" for e in endpoints for s in e.secrets if not _opens(cipher, s)]
    checks: list[Callable[[], Awaitable[Finding]]] = []
    for row in settings_rows:
        try:
            values = json.loads(cipher.decrypt(row.credentials))
        except (DecryptionFailed, ValueError):
            unreadable.append(f"{row.provider} credentials of {row.account_id}")
            continue
        api_base = row.api_base or DEFAULT_API_BASE.get(row.provider, "")
        checks.append(
            provider_check(
                row.account_id, row.provider, values, api_base, within, settings.public_url
            )
        )
    if unreadable:
        findings.append(
            Finding(
                "fail",
                "secrets",
                f"{len(unreadable)} stored secrets do not open with the configured key "
                f"({', '.join(unreadable[:5])}{'...' if len(unreadable) > 5 else ''}): was "
                "CREDIRA_ENCRYPTION_KEY changed? List the new key first and the old one after "
                "it, comma-separated",
            )
        )
    else:
        findings.append(Finding("ok", "secrets", f"all {stored} stored secrets open"))
    findings += await asyncio.gather(*(check() for check in checks))
    return findings


def _opens(cipher: Cipher, token: str) -> bool:
    try:
        cipher.decrypt(token)
    except DecryptionFailed:
        return False
    return True


# -- webhooks and the worker --------------------------------------------------------------------


async def _webhooks(settings: Settings, engine: AsyncEngine) -> list[Finding]:
    async with create_sessionmaker(engine, write=False)() as session:
        endpoints = await repository.webhook_endpoints(session)
    if not endpoints:
        return [Finding("ok", "webhooks", "no webhook endpoints")]
    findings: list[Finding] = []
    now = datetime.now(UTC)
    for e in endpoints:
        name = f"webhook {e.id} ({e.url}, account {e.account_id})"
        if not e.enabled:
            reason = f": {e.disabled_reason}" if e.disabled_reason else ""
            findings.append(Finding("warn", "webhooks", f"{name} is disabled{reason}"))
        elif e.failing_since is not None:
            hours = (now - e.failing_since).total_seconds() / 3600
            findings.append(
                Finding(
                    "fail",
                    "webhooks",
                    f"{name} has failed every delivery for {hours:.1f} h ({e.pending} waiting); "
                    f"it is disabled after {settings.webhook_disable_after_hours:g} h. Check that "
                    "the receiver is up and answers 2xx",
                )
            )
    healthy = sum(1 for e in endpoints if e.enabled and e.failing_since is None)
    findings.append(Finding("ok", "webhooks", f"{healthy} of {len(endpoints)} endpoints healthy"))
    return findings


async def _worker(engine: AsyncEngine) -> list[Finding]:
    now = datetime.now(UTC)
    async with create_sessionmaker(engine, write=False)() as session:
        gauges = await callout_gauges(session, now)
    if gauges.oldest_due is None:
        return [Finding("ok", "worker", "no callout is waiting for a worker")]
    late = (now - gauges.oldest_due).total_seconds()
    if late > OVERDUE_SECONDS:
        return [
            Finding(
                "fail",
                "worker",
                f"{gauges.due} callouts are due and unclaimed, the oldest for {late / 60:.0f} "
                "min: no worker is taking them. Is `credira worker` running (or `credira serve` "
                "with CREDIRA_EMBEDDED_WORKER on), on this database?",
            )
        ]
    return [Finding("ok", "worker", f"{gauges.due} callouts due, the oldest {late:.0f} s late")]
