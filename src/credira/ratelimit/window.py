"""The moving window, counted in this process's memory.

It counts exactly as the `limits` library's ``MovingWindowRateLimiter`` over its
``MemoryStorage`` (one timestamp per admitted request; a request is refused when the window
already holds ``limit`` of them), at a fraction of the cost: that storage prepends to a list
on every hit and, after every hit, starts an expiry task that hands each stored window to a
thread, which on a busy server is a task and a thread hand-off per request. Here each window is
a deque trimmed as it is read, and windows left idle are swept at most once a minute.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItem
from limits.util import WindowStats

SWEEP_EVERY_SECONDS = 60.0


class _Window:
    __slots__ = ("expiry", "times")

    def __init__(self, expiry: int) -> None:
        self.expiry = expiry
        self.times: deque[float] = deque()  # oldest first

    def trim(self, now: float) -> None:
        times = self.times
        cutoff = now - self.expiry
        while times and times[0] <= cutoff:
            times.popleft()


class MemoryMovingWindow:
    """A moving-window strategy (``hit`` and ``get_window_stats``) kept in memory."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._next_sweep = clock() + SWEEP_EVERY_SECONDS

    def _window(self, item: RateLimitItem, identifiers: tuple[str, ...], now: float) -> _Window:
        if now >= self._next_sweep:
            self._sweep(now)
        key = item.key_for(*identifiers)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(item.get_expiry())
        window.trim(now)
        return window

    def _sweep(self, now: float) -> None:
        """Forget windows whose every entry has expired."""
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        idle = [k for k, w in self._windows.items() if not w.times or w.times[-1] <= now - w.expiry]
        for key in idle:
            del self._windows[key]

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Take ``cost`` entries of the window, or refuse (taking none) when it lacks room."""
        if cost > item.amount:
            return False
        now = self._clock()
        window = self._window(item, identifiers, now)
        if len(window.times) + cost > item.amount:
            return False
        window.times.extend([now] * cost)
        return True

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the oldest entry leaves the window, and how many entries are left."""
        now = self._clock()
        times = self._window(item, identifiers, now).times
        start = times[0] if times else now
        return WindowStats(start + item.get_expiry(), item.amount - len(times))

    def __len__(self) -> int:
        return len(self._windows)
