"""How the headless sync shows progress: a live table on a terminal, periodic lines elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TextIO

from rich.console import Console

from pylon_dagster.progress.lines import PeriodicLines
from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster.progress.terminal import LiveTable


class SyncDisplay(Protocol):
    def window(self, label: str) -> AbstractContextManager[None]:
        """Show the progress of the run executed in this process while the block runs."""
        ...


class LiveDisplay:
    """A rich live table per window (stdout is a terminal)."""

    def __init__(self, console: Console):
        self.console = console

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        with LiveTable(self.console, label) as table, PROCESS_RELAY.listening(table):
            yield


class LineDisplay:
    """Plain lines, one at most every `interval_seconds`, and a last one per window (stdout is a
    pipe or a file: cron, CI logs)."""

    def __init__(self, emit: Callable[[str], None], *, interval_seconds: float):
        self.emit = emit
        self.interval_seconds = interval_seconds

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        lines = PeriodicLines(self.emit, interval_seconds=self.interval_seconds, label=label)
        try:
            with PROCESS_RELAY.listening(lines):
                yield
        finally:
            lines.flush()


def sync_display(stream: TextIO, *, interval_seconds: float) -> SyncDisplay:
    """The display for `stream`: live on a terminal (as rich sees it), lines otherwise."""
    console = Console(file=stream)
    if console.is_terminal:
        return LiveDisplay(console)
    return LineDisplay(
        lambda line: print(line, file=stream, flush=True), interval_seconds=interval_seconds
    )
