"""Permission names (``<resource>:<read|write>``) and the defaults a new user gets."""

from __future__ import annotations

RESOURCES = ("calls", "emails", "callouts", "invoices", "voice_agents", "users", "webhooks")
# Read-only resources: the event log is written by the changes themselves.
READ_ONLY = ("events",)
ALL_PERMISSIONS = tuple(f"{r}:{a}" for r in RESOURCES for a in ("read", "write")) + tuple(
    f"{r}:read" for r in READ_ONLY
)
# Webhooks are in, as events:read is: an endpoint receives the account's events, which such a
# user can read anyway; ``users`` (who holds which key) stays with the account's admins.
DEFAULT_PERMISSIONS = tuple(
    f"{r}:{a}"
    for r in ("calls", "emails", "callouts", "invoices", "voice_agents", "webhooks")
    for a in ("read", "write")
) + tuple(f"{r}:read" for r in READ_ONLY)
