"""Per-API-key request limit: a sliding window of one minute, kept in memory.

The sliding-window counter (the current minute's count plus the previous minute's, weighted by how
much of it still lies inside the last 60 s) smooths the 2x burst a plain fixed window allows at its
boundary, at the cost of two integers per key. Each API process counts on its own: with N API
processes a key may get up to N times the limit (documented in docs/api-service.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

WINDOW_S = 60.0
_SWEEP_EVERY = 4096


class _Window:
    __slots__ = ("current", "previous", "start")

    def __init__(self, start: float) -> None:
        self.start = start  # start of the current fixed window
        self.current = 0
        self.previous = 0


class RateLimiter:
    """``hit(key)`` -> None when allowed (and counted), else the seconds to wait (Retry-After)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[Hashable, _Window] = {}
        self._calls = 0

    def hit(self, key: Hashable) -> int | None:
        if self.per_minute <= 0:
            return None
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(now)
        self._roll(window, now)
        elapsed = now - window.start
        weight = 1.0 - elapsed / WINDOW_S
        if window.previous * weight + window.current + 1 <= self.per_minute:
            window.current += 1
            return None
        return self._retry_after(window, elapsed)

    def _retry_after(self, window: _Window, elapsed: float) -> int:
        """Whole seconds until one more request fits (at least 1)."""
        limit = self.per_minute
        if window.current + 1 > limit:
            # Wait for the window to roll; then the current count weighs as "previous".
            wait = (WINDOW_S - elapsed) + WINDOW_S * (1.0 - (limit - 1) / window.current)
        else:
            wait = WINDOW_S * (1.0 - (limit - 1 - window.current) / window.previous) - elapsed
        return max(1, math.ceil(wait))

    @staticmethod
    def _roll(window: _Window, now: float) -> None:
        passed = int((now - window.start) // WINDOW_S)
        if passed >= 1:
            window.previous = window.current if passed == 1 else 0
            window.current = 0
            window.start += passed * WINDOW_S

    def _sweep(self, now: float) -> None:
        """Forget keys idle for two windows (their counts no longer matter)."""
        stale = [key for key, w in self._windows.items() if now - w.start >= 2 * WINDOW_S]
        for key in stale:
            del self._windows[key]
