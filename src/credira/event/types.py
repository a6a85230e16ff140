"""Event types: ``<object>.<what happened>``. The list is documented in the README."""

from __future__ import annotations

import re
from enum import StrEnum


class EventType(StrEnum):
    CALLOUT_SCHEDULED = "callout.scheduled"
    CALLOUT_UPDATED = "callout.updated"
    CALLOUT_ACTIVE = "callout.active"
    CALLOUT_HELD = "callout.held"
    CALLOUT_COMPLETED = "callout.completed"
    CALLOUT_FAILED = "callout.failed"
    CALLOUT_CANCELLED = "callout.cancelled"
    CALLOUT_DELETED = "callout.deleted"
    CALL_INITIATED = "call.initiated"
    CALL_RINGING = "call.ringing"
    CALL_IN_PROGRESS = "call.in_progress"
    CALL_COMPLETED = "call.completed"
    CALL_NO_ANSWER = "call.no_answer"
    CALL_BUSY = "call.busy"
    CALL_FAILED = "call.failed"
    CALL_VOICEMAIL = "call.voicemail"
    CALL_CANCELLED = "call.cancelled"
    CALL_OPTED_OUT = "call.opted_out"
    EMAIL_SCHEDULED = "email.scheduled"
    EMAIL_SENT = "email.sent"
    EMAIL_DELIVERED = "email.delivered"
    EMAIL_BOUNCED = "email.bounced"
    EMAIL_UNCONFIRMED = "email.unconfirmed"
    EMAIL_FAILED = "email.failed"
    EMAIL_CANCELLED = "email.cancelled"
    EMAIL_OPENED = "email.opened"
    EMAIL_CLICKED = "email.clicked"
    EMAIL_UNSUBSCRIBED = "email.unsubscribed"
    INVOICE_CREATED = "invoice.created"
    INVOICE_UPDATED = "invoice.updated"
    INVOICE_PAID = "invoice.paid"
    INVOICE_DISPUTED = "invoice.disputed"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_REOPENED = "invoice.reopened"
    INVOICE_PROMISED = "invoice.promised"
    INVOICE_PLAN_STARTED = "invoice.plan_started"
    INVOICE_PLAN_PAUSED = "invoice.plan_paused"
    INVOICE_PLAN_RESUMED = "invoice.plan_resumed"
    INVOICE_PLAN_STOPPED = "invoice.plan_stopped"
    INVOICE_PLAN_COMPLETED = "invoice.plan_completed"
    PLAN_CREATED = "plan.created"
    PLAN_UPDATED = "plan.updated"
    PLAN_DELETED = "plan.deleted"
    PLAN_STEP_SCHEDULED = "plan_step.scheduled"
    PLAN_STEP_SKIPPED = "plan_step.skipped"
    WEBHOOK_DISABLED = "webhook.disabled"


OBJECTS = tuple(sorted({t.value.split(".", 1)[0] for t in EventType}))
_ONE = "|".join(
    [re.escape(t.value) for t in EventType] + [re.escape(o) + r"\.\*" for o in OBJECTS] + [r"\*"]
)
# What ``matcher`` takes, written out for the document: types and wildcards, comma-separated.
TYPE_FILTER_PATTERN = f"^(?:{_ONE})(?:,(?:{_ONE}))*$"
# The objects that have events: callouts, calls, emails, invoices, webhook endpoints,
# collection plans and their steps.
OBJECT_ID_PATTERN = "^(?:callout|call|email|inv|whk|plan|pstep)_[0-9A-Za-z]{1,64}$"


def matcher(patterns: list[str]) -> tuple[set[str], set[str]]:
    """Exact types and ``<object>.`` prefixes (from ``callout.*``) a filter names.

    Raises ``ValueError`` naming a pattern that can match no type."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    known = {t.value for t in EventType}
    for pattern in patterns:
        if pattern.endswith(".*") and pattern[:-2] in OBJECTS:
            prefixes.add(pattern[:-1])
        elif pattern == "*":
            prefixes.update(f"{o}." for o in OBJECTS)
        elif pattern in known:
            exact.add(pattern)
        else:
            raise ValueError(pattern)
    return exact, prefixes
