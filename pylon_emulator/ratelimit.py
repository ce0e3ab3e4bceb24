"""Server-side rate limits: per endpoint, a sliding window of accepted requests.

Only accepted requests occupy the window, so a client that waits out `Retry-After` gets through.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping


class RateLimiter:
    """At most `limits[key]` accepted requests per endpoint key within any `window_seconds`."""

    def __init__(
        self,
        limits: Mapping[str, int],
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limits = dict(limits)
        self.window_seconds = window_seconds
        self._clock = clock
        self._accepted: dict[str, deque[float]] = {key: deque() for key in self.limits}
        self._lock = threading.Lock()

    def admit(self, key: str) -> float | None:
        """Accept the request (None) or say how many seconds until the window has room."""
        limit = self.limits.get(key)
        if limit is None:
            return None
        with self._lock:
            now, accepted = self._window(key)
            if len(accepted) < limit:
                accepted.append(now)
                return None
            return accepted[0] + self.window_seconds - now

    def remaining(self, key: str) -> tuple[int, int, float] | None:
        """(limit, requests left in the window, seconds until the oldest leaves it), if limited."""
        limit = self.limits.get(key)
        if limit is None:
            return None
        with self._lock:
            now, accepted = self._window(key)
            reset = accepted[0] + self.window_seconds - now if accepted else 0.0
            return limit, max(0, limit - len(accepted)), reset

    def _window(self, key: str) -> tuple[float, deque[float]]:
        """Now, and the endpoint's accepted requests still inside the window (call locked)."""
        now = self._clock()
        accepted = self._accepted[key]
        while accepted and accepted[0] + self.window_seconds <= now:
            accepted.popleft()
        return now, accepted
