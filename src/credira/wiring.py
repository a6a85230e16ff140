"""The one place the service is put together from its settings: the database, the clock, the
channels and the worker. ``serve`` (the app's lifespan), ``worker`` (the CLI) and the bench
all build from here.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from credira.channel.email.factory import sender_from_settings
from credira.channel.voice.registry import VoiceProviders
from credira.channel.voice.retell import RetellVoice
from credira.channel.voice.simulator import VoiceSimulator
from credira.channel.voice.telnyx import TelnyxVoice
from credira.channel.voice.twilio import TwilioVoice
from credira.channel.voice.vapi import VapiVoice
from credira.config import Settings
from credira.db.engine import create_engine, create_sessionmaker
from credira.kit.clock import Clock, SystemClock
from credira.kit.process import settle_heap
from credira.provider.service import ProviderAccount, account_at
from credira.secret.crypto import cipher_for

if TYPE_CHECKING:
    from credira.webhook.deliver import Deliverer
    from credira.worker.execute import Executor, Observer
    from credira.worker.runner import Worker


@dataclass(frozen=True)
class Parts:
    """What every part of the service shares: the engine (and its sessions for writing and
    for reading), the clock, the voice providers."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    voice: VoiceProviders


def assemble(
    settings: Settings, *, engine: AsyncEngine | None = None, clock: Clock | None = None
) -> Parts:
    """The shared parts, on ``engine`` and ``clock`` when given (tests pass their own)."""
    engine = engine or create_engine(settings)
    sessions = create_sessionmaker(engine)
    reads = create_sessionmaker(engine, write=False)
    clock = clock or SystemClock()
    return Parts(engine, sessions, reads, clock, voice_providers(settings, sessions, reads, clock))


def voice_providers(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    read_sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> VoiceProviders:
    simulator = VoiceSimulator(
        sessionmaker,
        clock,
        read_sessionmaker=read_sessionmaker,
        time_scale=settings.simulator_time_scale,
        recordings=settings.simulator_recordings,
    )
    twilio = TwilioVoice(
        sessionmaker,
        clock,
        provider_accounts(settings, read_sessionmaker, "twilio"),
        public_url=settings.public_url,
        read_sessionmaker=read_sessionmaker,
        timeout=settings.provider_timeout_seconds,
        poll_seconds=settings.provider_poll_seconds,
    )
    retell = RetellVoice(
        sessionmaker,
        clock,
        provider_accounts(settings, read_sessionmaker, "retell"),
        read_sessionmaker=read_sessionmaker,
        timeout=settings.provider_timeout_seconds,
        poll_seconds=settings.provider_poll_seconds,
    )
    telnyx = TelnyxVoice(
        sessionmaker,
        clock,
        provider_accounts(settings, read_sessionmaker, "telnyx"),
        public_url=settings.public_url,
        read_sessionmaker=read_sessionmaker,
        timeout=settings.provider_timeout_seconds,
        poll_seconds=settings.provider_poll_seconds,
    )
    vapi = VapiVoice(
        sessionmaker,
        clock,
        provider_accounts(settings, read_sessionmaker, "vapi"),
        public_url=settings.public_url,
        read_sessionmaker=read_sessionmaker,
        timeout=settings.provider_timeout_seconds,
        poll_seconds=settings.provider_poll_seconds,
    )
    return VoiceProviders(
        {
            "simulator": simulator,
            "twilio": twilio,
            "telnyx": telnyx,
            "vapi": vapi,
            "retell": retell,
        }
    )


def provider_accounts(
    settings: Settings, read_sessionmaker: async_sessionmaker[AsyncSession], provider: str
) -> Callable[[str], Awaitable[ProviderAccount | None]]:
    """How an adapter reads an account's credentials at its provider (decrypted per use)."""

    async def lookup(account_id: str) -> ProviderAccount | None:
        async with read_sessionmaker() as session:
            return await account_at(session, cipher_for(settings), account_id, provider)

    return lookup


def build_worker(settings: Settings, parts: Parts, *, observer: Observer | None = None) -> Worker:
    """The worker of ``serve`` and ``worker``; ``observer`` is told of its claims, batches
    and runs (the benchmark's measurements)."""
    from credira.api import idempotency, idempotency_repository
    from credira.email.dispatch import EmailDispatcher, Links
    from credira.email_template.render import Limits
    from credira.llm.settings import LLMSettings
    from credira.worker.runner import Pruning, Worker, new_worker_id

    sessionmaker, clock = parts.sessionmaker, parts.clock
    worker_id = new_worker_id()
    dispatcher = EmailDispatcher(
        sessionmaker,
        clock,
        sender_from_settings(settings, clock=clock),
        Links(settings, sessionmaker),
    )
    return Worker(
        sessionmaker,
        clock,
        parts.voice,
        worker_id=worker_id,
        read_sessionmaker=parts.read_sessionmaker,
        emails=dispatcher,
        recordings_dir=settings.data_dir / "recordings",
        concurrency=settings.worker_concurrency,
        poll_seconds=settings.worker_poll_seconds,
        lease_seconds=settings.worker_lease_seconds,
        grace_seconds=settings.worker_grace_seconds,
        analysis_processes=settings.worker_analysis_processes,
        llm=LLMSettings.from_settings(settings),
        render_limits=Limits.of(settings),
        public_url=settings.public_url,
        event_retention=timedelta(days=settings.event_retention_days),
        pruning=(
            Pruning(
                "idempotency_records",
                idempotency_repository.purge_expired,
                idempotency.RETENTION,
                idempotency_repository.PURGE_BATCH,
            ),
        ),
        # One connection for lease renewals, apart from the busy pool.
        heartbeat_engine=create_engine(settings.model_copy(update={"db_pool_size": 1})),
        observer=observer,
        webhooks=build_deliverer(settings, parts, worker_id),
    )


def build_deliverer(settings: Settings, parts: Parts, worker_id: str) -> Deliverer:
    """The worker's webhook deliverer (``credira.webhook.deliver``)."""
    from credira.secret.crypto import cipher_for
    from credira.webhook.deliver import Deliverer
    from credira.webhook.guard import Policy
    from credira.webhook.policy import parse_schedule
    from credira.webhook.sender import HttpSender

    sender = HttpSender(
        Policy(settings.webhook_allow_networks),
        timeout=settings.webhook_timeout_seconds,
        connections=settings.webhook_concurrency,
    )
    return Deliverer(
        parts.sessionmaker,
        parts.clock,
        cipher_for(settings),
        sender,
        worker_id=worker_id,
        schedule=parse_schedule(settings.webhook_retry_seconds),
        timeout=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
        per_endpoint=settings.webhook_per_endpoint,
        disable_after_hours=settings.webhook_disable_after_hours,
        poll_seconds=min(settings.worker_poll_seconds, 0.1),
        grace_seconds=min(settings.worker_grace_seconds, settings.webhook_timeout_seconds),
        retention=timedelta(days=settings.event_retention_days),
    )


def build_executor(
    settings: Settings, parts: Parts, worker_id: str, *, batch_size: int
) -> Executor:
    """A worker's executor alone (no email part, no recordings kept), to run its phases one
    batch at a time (the transactions benchmark)."""
    from credira.email_template.render import Limits
    from credira.worker.execute import Executor

    return Executor(
        parts.sessionmaker,
        parts.clock,
        parts.voice,
        worker_id,
        read_sessionmaker=parts.read_sessionmaker,
        batch_size=batch_size,
        render_limits=Limits.of(settings),
        public_url=settings.public_url,
    )


async def run_worker(
    settings: Settings,
    *,
    observer: Observer | None = None,
    started: Callable[[Worker, Parts], None] | None = None,
) -> None:
    """Run a worker process until SIGTERM or SIGINT: ``credira worker``. ``started`` is
    called once it is built, just before it runs."""
    parts = assemble(settings)
    worker = build_worker(settings, parts, observer=observer)
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if started is not None:
        started(worker, parts)
    try:
        await worker.run(stop)
    finally:
        await parts.engine.dispose()
