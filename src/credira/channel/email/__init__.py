"""The email port and its adapters: SMTP (aiosmtplib) and the local ``.eml`` outbox."""

from credira.channel.email.factory import outbox_folder, sender_from_settings
from credira.channel.email.mime import build_mime
from credira.channel.email.outbox import (
    OutboxEntry,
    OutboxSender,
    find_outbox_message,
    list_outbox,
)
from credira.channel.email.port import EmailSender, OutgoingEmail, SendResult, SendStatus
from credira.channel.email.smtp import SmtpConfig, SmtpSender, parse_smtp_url

__all__ = [
    "EmailSender",
    "OutboxEntry",
    "OutboxSender",
    "OutgoingEmail",
    "SendResult",
    "SendStatus",
    "SmtpConfig",
    "SmtpSender",
    "build_mime",
    "find_outbox_message",
    "list_outbox",
    "outbox_folder",
    "parse_smtp_url",
    "sender_from_settings",
]
