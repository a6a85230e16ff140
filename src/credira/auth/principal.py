from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a user of one account, or the platform admin."""

    account_id: str | None
    user_id: str | None
    permissions: frozenset[str]
    is_admin: bool = False

    def can(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions

    @property
    def scope(self) -> str:
        """The namespace for per-caller records such as idempotency keys."""
        return self.account_id or "admin"
