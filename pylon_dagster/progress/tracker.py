"""`ProgressTracker`: the counts behind a progress display, and the time left they imply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pylon_dagster.catalog.streams import stream as stream_named
from pylon_dagster.progress.eta import EndpointPace, endpoint_seconds_left, seconds_left

Clock = Callable[[], float]
DEFAULT_WINDOW_SECONDS = 60.0


@dataclass
class _Stream:
    endpoint: str
    records: int = 0
    fetches_done: int = 0
    fetches_planned: int | None = None
    fetches_expected: bool = False


@dataclass
class _Endpoint:
    requests: int = 0
    rate: float | None = None
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    last_request_at: float | None = None
    planned: int | None = None
    """Requests to make (one per planned child fetch), counted from `requests_at_plan`."""
    requests_at_plan: int = 0
    expected: bool = False
    """A stream of this endpoint has fetches to do (`planned` is None until it knows how many)."""

    def pace(self) -> EndpointPace:
        done = self.requests - self.requests_at_plan
        return EndpointPace(
            remaining=None if self.planned is None else max(0, self.planned - done),
            rate=self.rate,
            window_seconds=self.window_seconds,
            last_request_at=self.last_request_at,
        )


@dataclass(frozen=True)
class StreamProgress:
    """One stream as shown: what it did, what is left, its endpoint's requests, rate, time left."""

    stream: str
    endpoint: str
    records: int
    fetches_done: int
    fetches_planned: int | None
    """Child fetches to do, once the parents are known."""
    fetches_expected: bool
    """The stream fetches children (False: it is read as one list, with no count to do)."""
    requests: int
    rate: float | None
    window_seconds: float
    seconds_left: float | None
    """Its endpoint's time left; None when it has no planned fetches or no rate yet."""


@dataclass(frozen=True)
class ProgressSnapshot:
    streams: tuple[StreamProgress, ...]
    seconds_left: float | None
    """The window's time left (see `eta.py`); None with nothing planned or a rate unknown."""


class ProgressTracker:
    """A `ProgressSink` that keeps count, for one sync window (one Dagster run). Thread-safe.

    Requests count against a stream's plan from the moment it is planned: the endpoint's remaining
    requests are its planned fetches minus the requests sent to it since (a child that needs a
    second page so counts one request early). `clock` is injectable for tests.
    """

    def __init__(self, clock: Clock = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self._endpoints: dict[str, _Endpoint] = {}

    def planned(self, stream: str, fetches: int | None) -> None:
        with self._lock:
            state = self._stream(stream)
            state.fetches_done, state.fetches_planned, state.fetches_expected = 0, fetches, True
            endpoint = self._endpoint(state.endpoint)
            endpoint.planned, endpoint.requests_at_plan = fetches, endpoint.requests
            endpoint.expected = True

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        with self._lock:
            state = self._stream(stream)
            state.records += records
            state.fetches_done += fetches

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        with self._lock:
            state = self._endpoint(endpoint)
            state.requests += 1
            state.rate, state.window_seconds = rate, window_seconds
            state.last_request_at = self.clock()

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            now = self.clock()
            rows = tuple(self._row(name, state, now) for name, state in self._streams.items())
            paces = [e.pace() for e in self._endpoints.values() if e.expected]
        return ProgressSnapshot(rows, seconds_left(paces, now))

    def _row(self, name: str, state: _Stream, now: float) -> StreamProgress:
        endpoint = self._endpoints[state.endpoint]
        return StreamProgress(
            stream=name,
            endpoint=state.endpoint,
            records=state.records,
            fetches_done=state.fetches_done,
            fetches_planned=state.fetches_planned,
            fetches_expected=state.fetches_expected,
            requests=endpoint.requests,
            rate=endpoint.rate,
            window_seconds=endpoint.window_seconds,
            seconds_left=endpoint_seconds_left(endpoint.pace(), now) if endpoint.expected else None,
        )

    def _stream(self, name: str) -> _Stream:
        if name not in self._streams:
            self._streams[name] = _Stream(stream_named(name).endpoint.key)
            self._endpoint(self._streams[name].endpoint)
        return self._streams[name]

    def _endpoint(self, key: str) -> _Endpoint:
        return self._endpoints.setdefault(key, _Endpoint())
