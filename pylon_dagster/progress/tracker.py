"""`ProgressTracker`: the counts behind a progress display, and the time left they imply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pylon_dagster.catalog.streams import stream as stream_named
from pylon_dagster.progress.eta import (
    EndpointPace,
    endpoint_seconds_left,
    requests_ahead,
    seconds_left,
)

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

    def remaining(self) -> int | None:
        done = self.requests - self.requests_at_plan
        return None if self.planned is None else max(0, self.planned - done)

    def pace(self, sharers: Sequence[int | None]) -> EndpointPace:
        """Its pace, behind the requests left of the windows in `sharers` (see `eta.py`)."""
        remaining = self.remaining()
        pace = EndpointPace(remaining, self.rate, self.window_seconds, self.last_request_at)
        if remaining is None or not sharers:
            return pace
        return replace(pace, ahead=requests_ahead(remaining, sharers))


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


SharersLeft = dict[str, list[int | None]]
"""Per endpoint, the requests left of each other window with work for it."""


class BudgetSharers:
    """The windows open side by side in this process, whose runs share each endpoint's rate
    budget: a tracker's time left counts the others' requests left (see `eta.py`). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trackers: tuple[ProgressTracker, ...] = ()

    @contextmanager
    def joined(self, tracker: ProgressTracker) -> Iterator[None]:
        """`tracker` shares the budget while the block runs (its window is open)."""
        with self._lock:
            self._trackers = (*self._trackers, tracker)
        try:
            yield
        finally:
            with self._lock:
                self._trackers = tuple(t for t in self._trackers if t is not tracker)

    def left_besides(self, tracker: ProgressTracker) -> SharersLeft:
        """The requests left of the windows other than `tracker`'s, per endpoint."""
        with self._lock:
            others = [t for t in self._trackers if t is not tracker]
        left: SharersLeft = {}
        for other in others:  # outside the lock: each tracker takes its own
            for endpoint, remaining in other.requests_left().items():
                left.setdefault(endpoint, []).append(remaining)
        return left


class ProgressTracker:
    """A `ProgressSink` that keeps count, for one sync window (one Dagster run). Thread-safe.

    Requests count against a stream's plan from the moment it is planned: the endpoint's remaining
    requests are its planned fetches minus the requests sent to it since (a child that needs a
    second page so counts one request early). With `sharers`, the time left counts the requests
    left of the other windows open beside it. `clock` is injectable for tests.
    """

    def __init__(self, clock: Clock = time.monotonic, sharers: BudgetSharers | None = None):
        self.clock = clock
        self.sharers = sharers
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

    def requests_left(self) -> dict[str, int | None]:
        """Per endpoint with work to do, the requests still to make (None: not counted yet)."""
        with self._lock:
            return {key: e.remaining() for key, e in self._endpoints.items() if e.expected}

    def snapshot(self) -> ProgressSnapshot:
        # The sharers' counts first, without our lock: they may be taking their snapshots too.
        sharers = self.sharers.left_besides(self) if self.sharers is not None else {}
        with self._lock:
            now = self.clock()
            paces = {
                key: e.pace(sharers.get(key, []))
                for key, e in self._endpoints.items()
                if e.expected
            }
            rows = tuple(self._row(name, s, paces, now) for name, s in self._streams.items())
        return ProgressSnapshot(rows, seconds_left(paces.values(), now))

    def _row(
        self, name: str, state: _Stream, paces: dict[str, EndpointPace], now: float
    ) -> StreamProgress:
        endpoint = self._endpoints[state.endpoint]
        pace = paces.get(state.endpoint)
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
            seconds_left=None if pace is None else endpoint_seconds_left(pace, now),
        )

    def _stream(self, name: str) -> _Stream:
        if name not in self._streams:
            self._streams[name] = _Stream(stream_named(name).endpoint.key)
            self._endpoint(self._streams[name].endpoint)
        return self._streams[name]

    def _endpoint(self, key: str) -> _Endpoint:
        return self._endpoints.setdefault(key, _Endpoint())
