"""Request rate limits per API key and per account, and on the links inside emails per client
address, counted by the `limits` library.

Strategy: a moving window (the default). It keeps one timestamp per request within the
window, so it is exact: no doubled burst at a window boundary (fixed window), no estimate
(sliding window counter), and ``Retry-After`` is the instant the oldest request leaves the
window. Its cost, one entry per request per limit, is small at limits in the hundreds or
thousands; ``CREDIRA_RATE_LIMIT_STRATEGY=sliding-window-counter`` trades exactness for two
counters per limit.

State lives in Redis when ``CREDIRA_REDIS_URL`` is set (every replica counts against the same
windows), in this process's memory otherwise (the moving window there is ``window.py``: the
library's count without its per-request expiry task). The limiter fails open: a Redis outage
logs ``ratelimit.storage_unavailable`` and lets requests through unlimited for
``OUTAGE_BACKOFF`` seconds before Redis is tried again, so it never takes the API down with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from limits.util import WindowStats
from redis.asyncio import ConnectionPool

from credira.config import Settings
from credira.errors import RateLimited
from credira.ratelimit.quota import Quota
from credira.ratelimit.window import MemoryMovingWindow

log = structlog.get_logger("credira.ratelimit")

RATE_LIMITED = "Rate limit exceeded"
CALLS_RATE_LIMITED = "Too many call requests. Please wait before making another call."

KEY_PREFIX = "credira:ratelimit"
# Redis on the same network answers in about a millisecond: a slower one counts as down.
REDIS_TIMEOUT_SECONDS = 0.5
# After a storage failure, requests pass unlimited this long before Redis is tried again, so
# an outage costs one timeout (and one warning) per interval, not one per request.
OUTAGE_BACKOFF_SECONDS = 5.0

_STRATEGIES: dict[str, Callable[[Storage], RateLimiter]] = {
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}

Check = tuple[RateLimitItem, tuple[str, ...]]


class Strategy(Protocol):
    """What the limiter asks of a counting strategy (the `limits` ones, or ours in memory)."""

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool: ...

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats: ...


def _items(spec: str) -> list[RateLimitItem]:
    return parse_many(spec) if spec.strip() else []


def key_identity(key_hash: str) -> str:
    """What the limits of one API key are stored under: derived from its hash, so the stored
    names reveal neither the key nor the hash it is looked up by."""
    return hashlib.sha256(f"ratelimit:{key_hash}".encode()).hexdigest()[:32]


def _redis_uri(url: str) -> str:
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


class RequestLimiter:
    """Counts requests against the configured limits; raises ``RateLimited`` past one."""

    def __init__(
        self,
        strategy: Strategy,
        *,
        per_key: Sequence[RateLimitItem] = (),
        per_account: Sequence[RateLimitItem] = (),
        create_call: Sequence[RateLimitItem] = (),
        links: Sequence[RateLimitItem] = (),
        pool: ConnectionPool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.strategy = strategy
        self.per_key = list(per_key)
        self.per_account = list(per_account)
        self.create_call = list(create_call)
        self.links = list(links)
        self._pool = pool
        self._monotonic = monotonic
        self._skip_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimiter:
        pool: ConnectionPool | None = None
        storage: Storage
        strategy: Strategy
        if settings.redis_url:
            pool = ConnectionPool.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            storage = RedisStorage(
                _redis_uri(settings.redis_url),
                implementation="redispy",
                connection_pool=pool,  # type: ignore[arg-type]
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
            )
            strategy = _STRATEGIES[settings.rate_limit_strategy](storage)
        elif settings.rate_limit_strategy == "moving-window":
            strategy = MemoryMovingWindow()
        else:
            strategy = _STRATEGIES[settings.rate_limit_strategy](
                MemoryStorage(wrap_exceptions=True)
            )
        return cls(
            strategy,
            per_key=_items(settings.rate_limit_per_key),
            per_account=_items(settings.rate_limit_per_account),
            create_call=_items(settings.rate_limit_create_call),
            links=_items(settings.rate_limit_links),
            pool=pool,
        )

    async def check_request(self, key_hash: str, account_id: str | None) -> Quota | None:
        """Count one request of an authenticated key (and its account, if it has one).

        Limits are taken in order, the key's before the account's, and the first one that
        refuses stops the count: a key past its own limit does not use up its account's.
        Returns the tightest limit's quota to show, or None when nothing was counted.
        """
        checks: list[Check] = [(item, ("key", key_identity(key_hash))) for item in self.per_key]
        if account_id is not None:
            checks += [(item, ("account", account_id)) for item in self.per_account]
        return await self._count(checks, RATE_LIMITED)

    async def check_create_call(self, account_id: str) -> Quota | None:
        """Count one ``POST /v1/calls`` of an account against its tighter limit."""
        checks = [(item, ("create-call", account_id)) for item in self.create_call]
        return await self._count(checks, CALLS_RATE_LIMITED)

    async def admit_link(self, client: str) -> bool:
        """Count one use of an email's link (open pixel, click, unsubscribe) by a client
        address; False once the address is past its limit (nothing is counted then).

        No quota is read back: nobody is shown one (see ``email/tracking_endpoints.py``)."""
        if not self.links or self._monotonic() < self._skip_until:
            return True
        # Hashed as keys are: the stored names do not list who read which email.
        identity = hashlib.sha256(f"ratelimit:link:{client}".encode()).hexdigest()[:32]
        try:
            for item in self.links:
                if not await self.strategy.hit(item, "link", identity):
                    return False
        except (StorageError, OSError, TimeoutError) as exc:
            self._storage_failed(exc)
        return True

    def _storage_failed(self, exc: BaseException) -> None:
        self._skip_until = self._monotonic() + OUTAGE_BACKOFF_SECONDS
        log.warning(
            "ratelimit.storage_unavailable",
            error=str(exc)[:300],
            failing_open_for_seconds=OUTAGE_BACKOFF_SECONDS,
        )

    async def _count(self, checks: Sequence[Check], message: str) -> Quota | None:
        if not checks or self._monotonic() < self._skip_until:
            return None
        try:
            for item, identifiers in checks:
                if not await self.strategy.hit(item, *identifiers):
                    refused = await self._quota(item, identifiers)
                    raise RateLimited(message, headers=refused.refusal_headers())
            if isinstance(self.strategy, MemoryMovingWindow):
                # Nothing to wait for in memory: a task per limit would cost more than the count.
                quotas = [await self._quota(i, ids) for i, ids in checks]
            else:
                quotas = list(await asyncio.gather(*(self._quota(i, ids) for i, ids in checks)))
        except (StorageError, OSError, TimeoutError) as exc:
            self._storage_failed(exc)
            return None
        return Quota.tightest(quotas)

    async def _quota(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> Quota:
        stats = await self.strategy.get_window_stats(item, *identifiers)
        return Quota.of(item.amount, stats.remaining, stats.reset_time - time.time())

    async def aclose(self) -> None:
        """Close the Redis connections (nothing to do in memory)."""
        if self._pool is not None:
            await self._pool.aclose()
