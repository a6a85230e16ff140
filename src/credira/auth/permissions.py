"""Permission names (``<resource>:<read|write>``) and the defaults a new user gets."""

from __future__ import annotations

RESOURCES = ("calls", "emails", "callouts", "invoices", "voice_agents", "users")
# Read-only resources: the event log is written by the changes themselves.
READ_ONLY = ("events",)
ALL_PERMISSIONS = tuple(f"{r}:{a}" for r in RESOURCES for a in ("read", "write")) + tuple(
    f"{r}:read" for r in READ_ONLY
)
DEFAULT_PERMISSIONS = tuple(
    f"{r}:{a}"
    for r in ("calls", "emails", "callouts", "invoices", "voice_agents")
    for a in ("read", "write")
) + tuple(f"{r}:read" for r in READ_ONLY)
