"""What a client is told about a limit: the IETF ``RateLimit-*`` fields and ``Retry-After``.

The three fields follow draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Limit`` (requests
allowed in the window), ``RateLimit-Remaining`` and ``RateLimit-Reset`` (whole seconds until a
request frees up). When several limits apply, the one closest to running out is shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # whole seconds until the window admits another request

    @classmethod
    def of(cls, limit: int, remaining: int, reset_in: float) -> Quota:
        return cls(limit, max(0, remaining), max(0, math.ceil(reset_in)))

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    def refusal_headers(self) -> dict[str, str]:
        """For a 429: nothing remains, and ``Retry-After`` says when to come back."""
        wait = max(1, self.reset)
        return {**Quota(self.limit, 0, wait).headers(), "Retry-After": str(wait)}

    @staticmethod
    def tightest(quotas: Iterable[Quota | None]) -> Quota | None:
        """The limit closest to refusing: fewest requests left, then the longest wait."""
        present = [q for q in quotas if q is not None]
        return min(present, key=lambda q: (q.remaining, -q.reset), default=None)
