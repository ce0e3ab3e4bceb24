"""`BudgetTransport`: the httpx transport layer that takes a slot from the rate budget for every
request it sends and reports back what the response said about the rate (429s, `Retry-After`,
rate-limit headers). Each request is counted and reported to the progress sink, with the rate its
slot was granted at."""

from __future__ import annotations

import threading

import httpx

from pylon_dagster.progress.sink import NO_PROGRESS, ProgressSink
from pylon_dagster.pylon.budget import Grant, Priority, RateBudget
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders, parse_rate_limit_headers
from pylon_dagster.pylon.retry import retry_after_seconds
from pylon_dagster.pylon.stats import RequestStats, endpoint_key

UNPACED_WINDOW_SECONDS = 60.0
"""The window reported with the requests of a client without a budget (no rate to pace by)."""


class BudgetTransport(httpx.BaseTransport):
    """Sends each request through `inner` on a slot of `budget` (None: unpaced, only counted).

    Waiting for a slot raises `PylonStoppedError` as soon as `stop` is set. The slot is dated at
    the response, or when the request ended without one, whatever ended it. `Retry-After` is
    reported capped at `retry_after_max_seconds`, as the retry layer waits it.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        budget: RateBudget | None,
        priority: Priority,
        stats: RequestStats,
        stop: threading.Event,
        retry_after_max_seconds: float,
        progress: ProgressSink = NO_PROGRESS,
    ):
        self._inner = inner
        self._budget = budget
        self._priority = priority
        self._stats = stats
        self._stop = stop
        self._retry_after_max_seconds = retry_after_max_seconds
        self._progress = progress

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        grant = self._take_slot(endpoint_key(request))
        try:
            response = self._inner.handle_request(request)
        except BaseException:
            self._give_back(grant, None)  # whatever ended the request, the slot is dated now
            raise
        self._give_back(grant, response)
        return response

    def _take_slot(self, key: str) -> Grant | None:
        if self._budget is None:
            self._stats.add(key, requests=1)
            self._progress.requested(key, None, UNPACED_WINDOW_SECONDS)
            return None
        grant = self._budget.acquire(key, self._priority, stop=self._stop)
        self._stats.add(key, requests=1, paced_seconds=grant.waited_seconds)
        self._stats.note_rate(grant, self._budget.window_seconds)
        self._progress.requested(key, grant.rate, self._budget.window_seconds)
        return grant

    def _give_back(self, grant: Grant | None, response: httpx.Response | None) -> None:
        """Date the slot at the response (None: the request got none) and report what it said."""
        if self._budget is None or grant is None:
            return
        if response is None:
            self._budget.release(
                grant, status_code=None, headers=RateLimitHeaders(), retry_after=None
            )
            return
        status = response.status_code
        self._budget.release(
            grant,
            status_code=status,
            headers=parse_rate_limit_headers(response.headers),
            retry_after=(
                retry_after_seconds(response, self._retry_after_max_seconds)
                if status == 429
                else None
            ),
        )

    def close(self) -> None:
        self._inner.close()
