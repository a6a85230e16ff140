"""Which email adapter the settings ask for: SMTP when ``CREDIRA_SMTP_URL`` is set, else the
local outbox under the data directory."""

from __future__ import annotations

from pathlib import Path

from credira.channel.email.outbox import OutboxSender
from credira.channel.email.port import EmailSender
from credira.channel.email.smtp import SmtpSender
from credira.config import Settings
from credira.kit.clock import Clock


def outbox_folder(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def sender_from_settings(settings: Settings, *, clock: Clock | None = None) -> EmailSender:
    """Raises ``ValueError`` for an unusable ``CREDIRA_SMTP_URL`` (the message omits the
    password), so a misconfiguration stops startup instead of every send."""
    if settings.smtp_url:
        return SmtpSender(settings.smtp_url)
    return OutboxSender(outbox_folder(settings), clock=clock)
