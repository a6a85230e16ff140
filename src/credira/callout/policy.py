"""The callout's state rules, free of SQL, HTTP and the clock."""

from __future__ import annotations

from credira.auth.principal import Principal
from credira.errors import Conflict, Forbidden, ValidationFailed

FINISHED = ("completed", "failed", "cancelled")
PENDING = ("scheduled", "active")
PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
RANKS = sorted(set(PRIORITY_RANK.values()))  # claim order: urgent first


def assert_updatable(status: str) -> None:
    if status == "active":
        raise Conflict("Cannot update callout that is currently active")
    if status in FINISHED:
        raise Conflict(f"Cannot update callout that is already {status}")


def assert_deletable(status: str) -> None:
    if status == "active":
        raise Conflict(
            "Cannot delete callout that is currently active; cancel it or wait for it to finish"
        )


def assert_cancellable(status: str) -> None:
    if status in FINISHED:
        raise Conflict(f"Cannot cancel callout that is already {status}")


def assert_may_reach(principal: Principal, *, calls_enabled: bool, emails_enabled: bool) -> None:
    """Creating or changing a callout that will call needs ``calls:write``, one that will email
    ``emails:write``, besides ``callouts:write``: the worker places those calls and sends those
    emails, so ``callouts:write`` alone would do what POST /v1/calls and /v1/send-email refuse.

    Any change to such a callout counts, not only turning a channel on: its contact, time and
    priority decide whom the call or email reaches and when. Turning a channel off, cancelling
    and deleting need only ``callouts:write``, as they stop outreach."""
    if calls_enabled and not principal.can("calls:write"):
        raise Forbidden(
            "You don't have permission to place calls: a callout that calls needs calls:write"
        )
    if emails_enabled and not principal.can("emails:write"):
        raise Forbidden(
            "You don't have permission to send emails: a callout that emails needs emails:write"
        )


def assert_invoice_open(invoice_status: str) -> None:
    if invoice_status != "open":
        raise Conflict(f"Cannot schedule a callout for a {invoice_status} invoice")


def _invalid(field: str, details: str) -> ValidationFailed:
    error = ValidationFailed(f"Invalid value for {field}", details=details, field=field)
    return error


def check_plan(
    *,
    calls_enabled: bool,
    emails_enabled: bool,
    voice_agent_id: str | None,
    phone: str | None,
    email: str | None,
) -> None:
    """A callout must be able to do what it is set to do."""
    if not calls_enabled and not emails_enabled:
        raise _invalid("actions", "At least one of calls_enabled and emails_enabled must be true")
    if calls_enabled and voice_agent_id is None:
        raise _invalid("actions.voice_agent_id", "A voice agent is required when calls are enabled")
    if calls_enabled and phone is None:
        raise _invalid(
            "target_contact.phone",
            "A phone number is required when calls are enabled (none on the invoice's customer)",
        )
    if emails_enabled and email is None:
        raise _invalid(
            "target_contact.email",
            "An email address is required when emails are enabled (none on the invoice's customer)",
        )
