"""Progress from Dagster runs executed in this process, for the headless sync's display.

The sync runs each window with `execute_in_process`, several at the same time in threads: the
assets and their Pylon client run in this process, but Dagster builds the resources itself, so a
display cannot be handed to them. Instead the sync tags each run with `WINDOW_TAG` (the window's
label), `PylonResource` reports to that label's `PROCESS_RELAY.channel`, and the display listens
to the label while the run goes. Runs without the tag (`dagster dev`, schedules, sensors) report
to no channel.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pylon_dagster.progress.sink import ProgressFanOut, ProgressSink

WINDOW_TAG = "pylon_dagster/progress_window"
"""Run tag whose value is the label of the display window the run's progress goes to."""


class ProgressRelay:
    """Per window label, the sinks listening to it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, tuple[ProgressSink, ...]] = {}

    @contextmanager
    def listening(self, label: str, sink: ProgressSink) -> Iterator[None]:
        with self._lock:
            self._listeners[label] = (*self._listeners.get(label, ()), sink)
        try:
            yield
        finally:
            with self._lock:
                rest = tuple(s for s in self._listeners[label] if s is not sink)
                if rest:
                    self._listeners[label] = rest
                else:
                    del self._listeners[label]

    def channel(self, label: str) -> ProgressSink:
        """A sink passing each report to the sinks listening to `label` when it comes."""
        return _Channel(self, label)

    def listeners(self, label: str) -> ProgressSink:
        with self._lock:
            return ProgressFanOut(self._listeners.get(label, ()))


@dataclass(frozen=True)
class _Channel:
    relay: ProgressRelay
    label: str

    def planned(self, stream: str, fetches: int | None) -> None:
        self.relay.listeners(self.label).planned(stream, fetches)

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        self.relay.listeners(self.label).advanced(stream, records=records, fetches=fetches)

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self.relay.listeners(self.label).requested(endpoint, rate, window_seconds)


PROCESS_RELAY = ProgressRelay()
