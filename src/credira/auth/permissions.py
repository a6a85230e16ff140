"""Permission names (``<resource>:<read|write>``) and the defaults a new user gets."""

from __future__ import annotations

RESOURCES = (
    "calls",
    "emails",
    "callouts",
    "invoices",
    "voice_agents",
    "users",
    "webhooks",
    "plans",
)
# Read-only resources: the event log is written by the changes themselves.
READ_ONLY = ("events",)
ALL_PERMISSIONS = tuple(f"{r}:{a}" for r in RESOURCES for a in ("read", "write")) + tuple(
    f"{r}:read" for r in READ_ONLY
)
# Webhooks are in, as events:read is: an endpoint receives the account's events, which such a
# user can read anyway; ``users`` (who holds which key) stays with the account's admins.
# Plans are in too: a plan only makes the callouts such a user may make by hand (creating one
# that calls or emails also needs calls:write / emails:write and callouts:write). Users made
# before plans existed keep what they hold: the admin key grants them the plans.
DEFAULT_PERMISSIONS = tuple(
    f"{r}:{a}"
    for r in ("calls", "emails", "callouts", "invoices", "voice_agents", "webhooks", "plans")
    for a in ("read", "write")
) + tuple(f"{r}:read" for r in READ_ONLY)
