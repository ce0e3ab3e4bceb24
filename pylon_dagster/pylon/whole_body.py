"""`WholeBodyTransport`: the httpx transport layer that reads each response's body before the
layers above judge it, within a deadline for the whole request.

Reading the body here puts the failures of the transfer (a dropped connection, a truncated body, a
body that trickles in) below the retry layer, which retries them like any timeout, and below the
budget layer, which dates the slot when the body has arrived.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import httpx

REQUEST_DEADLINE_SECONDS = 120.0
"""Longest one request may take, its body included: httpx's read timeout bounds each wait for
bytes, so a body that trickles in a byte at a time would otherwise never time out."""


class WholeBodyTransport(httpx.BaseTransport):
    """Answers each request with its response read whole (tied to its request), or raises
    `httpx.ReadTimeout` once `deadline_seconds` have passed on `clock` since it was sent."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        deadline_seconds: float = REQUEST_DEADLINE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 0 < deadline_seconds < math.inf:
            raise ValueError(f"request_deadline must be a positive number, got {deadline_seconds}")
        self._inner = inner
        self._seconds = deadline_seconds
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = self._clock() + self._seconds
        response = self._inner.handle_request(request)
        try:
            response.request = request
            response.stream = _DeadlineStream(response, deadline, self._seconds, self._clock)
            response.read()
        except BaseException:
            response.close()
            raise
        return response

    def close(self) -> None:
        self._inner.close()


class _DeadlineStream(httpx.SyncByteStream):
    """A response body that raises `httpx.ReadTimeout` when it has not ended by `deadline`.
    Checked as each chunk arrives: a wait for the next one is bounded by the read timeout already."""

    def __init__(
        self,
        response: httpx.Response,
        deadline: float,
        seconds: float,
        clock: Callable[[], float],
    ):
        if not isinstance(response.stream, httpx.SyncByteStream):
            raise TypeError("a synchronous client's response has a synchronous stream")
        self._body = response.stream
        self._request = response.request
        self._deadline = deadline
        self._seconds = seconds
        self._clock = clock

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            if self._clock() > self._deadline:
                raise httpx.ReadTimeout(
                    f"the answer was still arriving after the {self._seconds:g}s deadline of one "
                    "request (a body that trickles in)",
                    request=self._request,
                )
            yield chunk

    def close(self) -> None:
        self._body.close()
