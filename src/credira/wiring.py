"""Building the channels and the worker from settings: shared by ``serve`` and ``worker``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.channel.email.factory import sender_from_settings
from credira.channel.voice.registry import VoiceProviders
from credira.channel.voice.simulator import VoiceSimulator
from credira.config import Settings
from credira.kit.clock import Clock

if TYPE_CHECKING:
    from credira.worker.runner import Worker


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
    return VoiceProviders({"simulator": simulator})


def build_worker(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    read_sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    voice: VoiceProviders,
) -> Worker:
    from credira.db.engine import create_engine
    from credira.email.dispatch import EmailDispatcher, Links
    from credira.email_template.render import Limits
    from credira.worker.runner import Worker

    dispatcher = EmailDispatcher(
        sessionmaker,
        clock,
        sender_from_settings(settings, clock=clock),
        Links(settings, sessionmaker),
    )
    return Worker(
        sessionmaker,
        clock,
        voice,
        read_sessionmaker=read_sessionmaker,
        emails=dispatcher,
        recordings_dir=settings.data_dir / "recordings",
        concurrency=settings.worker_concurrency,
        poll_seconds=settings.worker_poll_seconds,
        lease_seconds=settings.worker_lease_seconds,
        grace_seconds=settings.worker_grace_seconds,
        analysis_processes=settings.worker_analysis_processes,
        render_limits=Limits.of(settings),
        # One connection for lease renewals, apart from the busy pool.
        heartbeat_engine=create_engine(settings.model_copy(update={"db_pool_size": 1})),
    )
