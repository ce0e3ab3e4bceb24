"""`RetryTransport`: the httpx transport layer that sends a request again while Pylon's answer is
worth another attempt.

Retried: 429s and 5xx (after `Retry-After` when the response gives one, else exponential backoff
with full jitter), timeouts, refused or dropped connections and truncated bodies (every
`httpx.TransportError`), and whatever else the layer above says is worth it (`malformed`: a body
that is not Pylon's JSON envelope). Every attempt goes through the layers below again, so each one
takes a slot of its own from the rate budget. The waits end at once when `stop` is set.

The project keeps this loop rather than using a retry library (httpx-retries, stamina, tenacity):
none waits on a stop event, judges the body, or raises the project's errors after the last attempt.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from pylon_dagster.pylon.errors import PylonStoppedError, PylonUnavailableError
from pylon_dagster.pylon.stats import RequestStats, endpoint_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try before giving up on one request."""

    max_attempts: int = 6
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    retry_after_max_seconds: float = 300.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 1-based failed attempt."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


def retry_after_seconds(
    response: httpx.Response, cap: float, *, now: datetime | None = None
) -> float | None:
    """`Retry-After` as seconds (delta-seconds, decimals accepted, or an HTTP date), capped."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        if not math.isfinite(seconds):  # `nan` would retry at once, `inf` wait the cap
            return None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)


def transient_failure(response: httpx.Response) -> str | None:
    """Why `response` is worth another attempt by its status (429, 5xx), or None."""
    status = response.status_code
    if status == 429:
        return "429 rate limited"
    if status >= 500:
        return f"{status} server error"
    return None


@dataclass(frozen=True)
class _Failure:
    description: str
    retry_after: float | None = None


class RetryTransport(httpx.BaseTransport):
    """Sends each request through `inner` until an answer is not worth retrying, or raises
    `PylonUnavailableError` after `settings.max_attempts`, or `PylonStoppedError` once `stop` is set.

    `scrub` removes secrets from every failure description before it is logged or raised.
    `malformed` says why a response whose status is fine is still worth another attempt (None: it
    is not). `wait` waits between attempts; by default `stop.wait`, so a stop ends the wait.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        settings: RetrySettings,
        stats: RequestStats,
        stop: threading.Event,
        scrub: Callable[[str], str],
        malformed: Callable[[httpx.Response], str | None] = lambda _: None,
        wait: Callable[[float], object] | None = None,
    ):
        self._inner = inner
        self._settings = settings
        self._stats = stats
        self._stop = stop
        self._scrub = scrub
        self._malformed = malformed
        self._wait = wait or stop.wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = endpoint_key(request)
        attempts = self._settings.max_attempts
        for attempt in range(1, attempts + 1):
            if self._stop.is_set():
                raise PylonStoppedError()
            outcome = self._attempt(request, key)
            if isinstance(outcome, httpx.Response):
                return outcome
            url = request.url.copy_with(query=None)
            if attempt == attempts:
                raise PylonUnavailableError(
                    method=request.method,
                    url=str(url),
                    attempts=attempt,
                    last_failure=outcome.description,
                )
            delay = outcome.retry_after
            if delay is None:
                delay = self._settings.backoff(attempt)
            logger.warning(
                "%s %s: %s; retrying in %.2fs (attempt %d of %d)",
                request.method,
                url.raw_path.decode("ascii"),
                outcome.description,
                delay,
                attempt + 1,
                attempts,
            )
            self._stats.add(key, retries=1)
            self._wait(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt(self, request: httpx.Request, key: str) -> httpx.Response | _Failure:
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            # Timeouts, refused or dropped connections, truncated transfers.
            self._stats.add(key, transport_errors=1)
            return _Failure(self._scrub(f"{type(exc).__name__}: {exc}"))
        if failure := transient_failure(response):
            counter = "rate_limited" if response.status_code == 429 else "server_errors"
            self._stats.add(key, **{counter: 1})
            cap = self._settings.retry_after_max_seconds
            outcome = _Failure(failure, retry_after_seconds(response, cap))
        elif failure := self._malformed(response):
            outcome = _Failure(self._scrub(failure))
        else:
            return response
        response.close()
        return outcome

    def close(self) -> None:
        self._inner.close()
