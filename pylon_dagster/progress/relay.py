"""Progress from Dagster runs executed in this process, for the headless sync's display.

The sync runs each window with `execute_in_process`: the assets and their Pylon client run in this
process, but Dagster builds the resources itself, so a display cannot be handed to them. Instead
`PylonResource` reports to `PROCESS_RELAY` too, and the sync listens while a run goes. In other
processes (a `dagster dev` step, a run worker) nobody listens and the relay drops everything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pylon_dagster.progress.sink import ProgressFanOut, ProgressSink


class ProgressRelay:
    """A `ProgressSink` passing every report to the sinks listening at that moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[ProgressSink, ...] = ()

    @contextmanager
    def listening(self, sink: ProgressSink) -> Iterator[None]:
        with self._lock:
            self._listeners = (*self._listeners, sink)
        try:
            yield
        finally:
            with self._lock:
                self._listeners = tuple(s for s in self._listeners if s is not sink)

    def _fan_out(self) -> ProgressFanOut:
        with self._lock:
            return ProgressFanOut(self._listeners)

    def planned(self, stream: str, fetches: int | None) -> None:
        self._fan_out().planned(stream, fetches)

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        self._fan_out().advanced(stream, records=records, fetches=fetches)

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self._fan_out().requested(endpoint, rate, window_seconds)


PROCESS_RELAY = ProgressRelay()
