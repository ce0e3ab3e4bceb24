"""Client-side pacing so that a healthy sync never earns a 429.

Pylon counts requests per endpoint per minute. A token bucket would allow a burst of N and then N more
within the same minute, so instead each endpoint gets a sliding-window log of its last N requests.
A request's slot is dated when its *response* arrives, not when it was sent: the server saw it at some
moment between the two, so the next request that reuses the slot (one window after the response)
can never land inside the server's window, whatever the network delay.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

Clock = Callable[[], float]


class SlidingWindowLimiter:
    """At most `limit` requests whose responses arrived within any `window_seconds` interval.

    Thread-safe: concurrent callers share the budget. A slot whose request is still in flight counts
    as used until its response arrives.
    """

    def __init__(self, limit: int, window_seconds: float, *, clock: Clock = time.monotonic):
        if limit < 1:
            raise ValueError(f"a rate limit must allow at least 1 request, got {limit}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._completed: deque[float] = deque()
        self._own: deque[float] = deque()  # wall-clock, for handing over to other processes
        self._in_flight = 0
        self._condition = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Wait for a free slot, hold it for the request, date it when the block ends.

        Yields the number of seconds spent waiting.
        """
        waited = self._acquire()
        try:
            yield waited
        finally:
            with self._condition:
                self._in_flight -= 1
                self._completed.append(self._clock())
                self._own.append(time.time())
                self._condition.notify_all()

    def _acquire(self) -> float:
        started = self._clock()
        with self._condition:
            while True:
                now = self._clock()
                while self._completed and self._completed[0] + self.window_seconds <= now:
                    self._completed.popleft()
                if len(self._completed) + self._in_flight < self.limit:
                    self._in_flight += 1
                    return now - started
                if self._completed:
                    timeout = self._completed[0] + self.window_seconds - now
                else:
                    timeout = None  # every slot is in flight: a completion will notify us
                self._condition.wait(timeout)

    def own_completions(self) -> list[float]:
        """Wall-clock times of this limiter's own completions still inside the window."""
        with self._condition:
            horizon = time.time() - self.window_seconds
            while self._own and self._own[0] <= horizon:
                self._own.popleft()
            return list(self._own)

    def absorb(self, ages: Iterable[float]) -> None:
        """Count completions made elsewhere (another process) `ages` seconds ago."""
        with self._condition:
            now = self._clock()
            merged = [*self._completed, *(now - age for age in ages if age < self.window_seconds)]
            self._completed = deque(sorted(merged))


class EndpointLimiters:
    """One `SlidingWindowLimiter` per endpoint key, created from a table of per-minute limits."""

    def __init__(self, limits_per_minute: Mapping[str, int], window_seconds: float = 60.0):
        self.window_seconds = window_seconds
        self._limiters = {
            key: SlidingWindowLimiter(limit, window_seconds)
            for key, limit in limits_per_minute.items()
        }

    @contextmanager
    def slot(self, endpoint_key: str) -> Iterator[float]:
        limiter = self._limiters.get(endpoint_key)
        if limiter is None:
            yield 0.0
            return
        with limiter.slot() as waited:
            yield waited

    def own_completions(self) -> dict[str, list[float]]:
        """Per endpoint, wall-clock times of this process's requests still inside the window."""
        return {key: limiter.own_completions() for key, limiter in self._limiters.items()}

    def absorb(self, ages_by_endpoint: Mapping[str, Iterable[float]]) -> None:
        """Count requests that other processes made against the same budgets."""
        for key, ages in ages_by_endpoint.items():
            if key in self._limiters:
                self._limiters[key].absorb(ages)
