"""What assets and the Pylon client report while they work: the `ProgressSink` protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class ProgressSink(Protocol):
    """Receives progress reports, from any thread. Implementations must be thread-safe."""

    def planned(self, stream: str, fetches: int | None) -> None:
        """`stream` has `fetches` child fetches (one parent each) to do from now on; None: it will
        fetch children, how many is not known yet (so no time left can be given meanwhile)."""
        ...

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        """`stream` received `records` more records and finished `fetches` more child fetches."""
        ...

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        """One request to `endpoint` went out, on a slot the budget granted at `rate` requests per
        `window_seconds` (None: the client runs without a budget)."""
        ...


class ProgressFanOut:
    """Passes every report to each of `sinks`; with none, reports go nowhere."""

    def __init__(self, sinks: Sequence[ProgressSink] = ()):
        self.sinks = tuple(sinks)

    def planned(self, stream: str, fetches: int | None) -> None:
        for sink in self.sinks:
            sink.planned(stream, fetches)

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        for sink in self.sinks:
            sink.advanced(stream, records=records, fetches=fetches)

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        for sink in self.sinks:
            sink.requested(endpoint, rate, window_seconds)


class ThenCall:
    """Passes every report to `sink`, then calls `then` (e.g. to write a line if one is due)."""

    def __init__(self, sink: ProgressSink, then: Callable[[], None]):
        self.sink = sink
        self.then = then

    def planned(self, stream: str, fetches: int | None) -> None:
        self.sink.planned(stream, fetches)
        self.then()

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        self.sink.advanced(stream, records=records, fetches=fetches)
        self.then()

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self.sink.requested(endpoint, rate, window_seconds)
        self.then()


NO_PROGRESS: ProgressSink = ProgressFanOut()
