"""How the headless sync shows progress: a live table on a terminal, periodic lines elsewhere.

While a run executes, Dagster captures file descriptors 1 and 2 into the run's compute logs (and
mirrors them with `tail -F`), so the display writes to its own copy (`os.dup`) of the output's
descriptor, made before the run starts: the progress reaches the terminal or pipe at once, not the
compute logs.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TextIO

from rich.console import Console

from pylon_dagster.progress.lines import PeriodicLines
from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster.progress.terminal import LiveTable


class SyncDisplay(Protocol):
    def window(self, label: str) -> AbstractContextManager[None]:
        """Show the progress of the run executed in this process while the block runs."""
        ...


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


class LiveDisplay:
    """A rich live table per window (stdout is a terminal). `console_options` go to rich's
    `Console` (e.g. `force_terminal=True, width=120` in tests)."""

    def __init__(self, stream: TextIO, **console_options: Any):
        self.stream = stream
        self.console_options = console_options

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        with beside_capture(self.stream) as out:
            console = Console(file=out, **self.console_options)
            with LiveTable(console, label) as table, PROCESS_RELAY.listening(table):
                yield


class LineDisplay:
    """Plain lines, one at most every `interval_seconds`, and a last one per window (stdout is a
    pipe or a file: cron, CI logs)."""

    def __init__(self, stream: TextIO, *, interval_seconds: float):
        self.stream = stream
        self.interval_seconds = interval_seconds

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        with beside_capture(self.stream) as out:
            lines = PeriodicLines(
                lambda line: print(line, file=out, flush=True),
                interval_seconds=self.interval_seconds,
                label=label,
            )
            try:
                with PROCESS_RELAY.listening(lines):
                    yield
            finally:
                lines.flush()


def sync_display(stream: TextIO, *, interval_seconds: float) -> SyncDisplay:
    """The display for `stream`: live on a terminal (as rich sees it), lines otherwise."""
    if Console(file=stream).is_terminal:
        return LiveDisplay(stream)
    return LineDisplay(stream, interval_seconds=interval_seconds)
