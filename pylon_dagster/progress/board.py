"""`WindowBoard`: what the sync's displays share, the windows shown at once and their output.

The sync runs several windows at the same time, each in its own thread, each entering
`window(label)` around its run. While a run executes, Dagster captures file descriptors 1 and 2
into the run's compute logs (and mirrors them with `tail -F`), so the board writes to its own copy
(`os.dup`) of the output's descriptor. The copy is made when the first window opens, while no run
of the sync is capturing, and kept until the last closes: a window opening beside a running one
would copy the capture instead.
"""

from __future__ import annotations

import io
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TextIO

from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster.progress.sink import ProgressSink
from pylon_dagster.progress.tracker import BudgetSharers, Clock, ProgressTracker


@contextmanager
def beside_capture(stream: TextIO) -> Iterator[TextIO]:
    """A copy of `stream`'s file descriptor, which Dagster's capture does not take over; a
    stream without a descriptor (a test's StringIO) as it is."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, io.UnsupportedOperation):
        yield stream
        return
    stream.flush()
    with os.fdopen(os.dup(descriptor), "w", encoding=stream.encoding or "utf-8") as copy:
        yield copy


@dataclass(frozen=True)
class Window:
    """One window being shown: its label and the counts of the run reporting to it."""

    label: str
    tracker: ProgressTracker


class WindowBoard(ABC):
    """Shows every open window on `stream`; `window(label)` may be entered from several threads
    at once, with distinct labels. Subclasses draw: `_opened` when the first window opens (on the
    output's copy), `_finished` as each closes (already out of `windows`), `_closed` after the
    last; all under `_lock`."""

    def __init__(self, stream: TextIO, *, clock: Clock):
        self.stream = stream
        self.clock = clock
        # Held while windows open and close (around the hooks) and by the subclasses' writes.
        self._lock = threading.Lock()
        self._windows: tuple[Window, ...] = ()
        self._output = ExitStack()
        # The windows open together share each endpoint's rate budget, so each one's time left.
        self._sharers = BudgetSharers()

    @property
    def windows(self) -> tuple[Window, ...]:
        """The open windows, oldest first; replaced as a whole, so it can be read without a lock."""
        return self._windows

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        """Show the progress of the run tagged `WINDOW_TAG: label` while the block runs."""
        window = Window(label, ProgressTracker(self.clock, self._sharers))
        self._open(window)
        try:
            with (
                self._sharers.joined(window.tracker),
                PROCESS_RELAY.listening(label, self._sink(window)),
            ):
                yield
        finally:
            self._close(window)

    def _open(self, window: Window) -> None:
        with self._lock:
            if not self._windows:
                with ExitStack() as output:
                    self._opened(output.enter_context(beside_capture(self.stream)))
                    self._output = output.pop_all()
            self._windows = (*self._windows, window)

    def _close(self, window: Window) -> None:
        with self._lock:
            self._windows = tuple(w for w in self._windows if w is not window)
            try:
                self._finished(window)
            finally:  # whatever happened, the next first window must be able to start afresh
                if not self._windows:
                    with self._output:
                        self._closed()

    def _sink(self, window: Window) -> ProgressSink:
        """What the window's run reports to."""
        return window.tracker

    @abstractmethod
    def _opened(self, out: TextIO) -> None: ...

    @abstractmethod
    def _finished(self, window: Window) -> None: ...

    @abstractmethod
    def _closed(self) -> None:
        """After the last open window finished, before the output's copy is closed."""
