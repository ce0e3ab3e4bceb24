"""What the emulator saw, for tests: requests per endpoint, responses per status, child fetches."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CounterSnapshot:
    requests: dict[str, int]
    """Requests per catalogue key, e.g. `GET /issues/{id}/messages` (failed attempts included)."""
    responses: dict[int, int]
    """Responses per HTTP status. A dropped connection has no status: see `dropped`."""
    dropped: int
    malformed: int
    """200s whose body was deliberately broken (also counted under 200)."""
    child_fetches: dict[str, dict[str, int]]
    """Per issue id: how many times its `messages` / `threads` were fetched (first pages served)."""
    refused: dict[str, int]
    """429s per catalogue key."""

    @property
    def rate_limited(self) -> int:
        return self.responses.get(429, 0)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def rate_floor_seconds(self, limits: dict[str, int], window_seconds: float) -> float:
        """The least time these requests could take at `limits`: the busiest endpoint's accepted
        requests divided by its budget per window."""
        return max(
            (
                (count - self.refused.get(key, 0)) / limits[key] * window_seconds
                for key, count in self.requests.items()
                if key in limits
            ),
            default=0.0,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "responses": {str(status): count for status, count in self.responses.items()},
            "rate_limited": self.rate_limited,
            "dropped": self.dropped,
            "malformed": self.malformed,
            "child_fetches": self.child_fetches,
            "refused": self.refused,
        }


class Counters:
    """Thread-safe counters; `snapshot()` copies them, `reset()` zeroes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._responses: Counter[int] = Counter()
            self._dropped = 0
            self._malformed = 0
            self._child_fetches: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self._refused: Counter[str] = Counter()

    def count_request(self, endpoint_key: str) -> None:
        with self._lock:
            self._requests[endpoint_key] += 1

    def count_response(self, status: int) -> None:
        with self._lock:
            self._responses[status] += 1

    def count_refused(self, endpoint_key: str) -> None:
        with self._lock:
            self._refused[endpoint_key] += 1

    def count_dropped(self) -> None:
        with self._lock:
            self._dropped += 1

    def count_malformed(self) -> None:
        with self._lock:
            self._malformed += 1

    def count_child_fetch(self, issue_id: str, child: str) -> None:
        with self._lock:
            self._child_fetches[issue_id][child] += 1

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            return CounterSnapshot(
                requests=dict(self._requests),
                responses=dict(self._responses),
                dropped=self._dropped,
                malformed=self._malformed,
                child_fetches={issue: dict(c) for issue, c in self._child_fetches.items()},
                refused=dict(self._refused),
            )
