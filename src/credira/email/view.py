"""The email as the API shows it (also each email event's ``data``)."""

from __future__ import annotations

from typing import Any

from credira.kit.clock import format_time
from credira.models import Email

__all__ = ["to_detail", "to_read"]


def to_read(email: Email) -> dict[str, Any]:
    """The documented email object of ``GET /emails``."""
    return {
        "id": email.id,
        "callout_id": email.callout_id,
        "subject": email.subject,
        "recipient_email": email.recipient_email,
        "recipient_name": email.recipient_name,
        "status": email.status,
        "template_id": email.template_id,
        "template_name": email.template_name,
        "sent_time": format_time(email.sent_time),
        "opened_time": format_time(email.opened_time),
        "clicked_time": format_time(email.clicked_time),
        "bounced": email.bounced,
        "unsubscribed": email.unsubscribed,
        "account_id": email.account_id,
        "created_time": format_time(email.created_time),
        "email_type": email.email_type,
        "priority": email.priority,
        "metadata": email.metadata_,
    }


def to_detail(email: Email) -> dict[str, Any]:
    """``GET /emails/{id}``: the documented object and its delivery details."""
    data = to_read(email)
    data.update(
        {
            "invoice_id": email.invoice_id,
            "scheduled_time": format_time(email.scheduled_time),
            "delivered_time": format_time(email.delivered_time),
            "updated_time": format_time(email.updated_time),
            "status_reason": email.status_reason,
            "smtp_reply": email.smtp_reply,
            "message_id": email.message_id,
            "tracking_id": email.tracking_id,
            "attempts": email.attempt_count,
        }
    )
    return data
