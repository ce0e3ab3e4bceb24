"""How the headless sync shows progress: a live area on a terminal, periodic lines elsewhere.

Both show every window open at the time (the sync runs several at once, each in its own thread)
and write one line per window as it finishes; `board.py` has what they share.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Any, Protocol, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from pylon_dagster.progress.board import Window, WindowBoard
from pylon_dagster.progress.lines import format_segment, format_summary
from pylon_dagster.progress.sink import ProgressSink, ThenCall
from pylon_dagster.progress.terminal import REFRESH_PER_SECOND, window_table
from pylon_dagster.progress.tracker import Clock


class SyncDisplay(Protocol):
    def window(self, label: str) -> AbstractContextManager[None]:
        """Show the progress of the run tagged `WINDOW_TAG: label` while the block runs. May be
        entered from several threads at once, each with its own label."""
        ...


class LiveDisplay(WindowBoard):
    """One rich `Live` (stdout is a terminal) with a table per open window; a window that
    finishes leaves it and writes its last line above it. Rich redraws from its own thread, so
    the time left counts down between reports too. `console_options` go to rich's `Console`
    (e.g. `force_terminal=True, width=120` in tests)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Clock = time.monotonic,
        auto_refresh: bool = True,
        **console_options: Any,
    ):
        super().__init__(stream, clock=clock)
        self.auto_refresh = auto_refresh
        self.console = Console(file=stream, **console_options)
        self._live: Live | None = None

    def refresh(self) -> None:
        """Redraw now (without `auto_refresh`, only this and a finished window redraw)."""
        with self._lock:
            self._redraw()

    def _redraw(self) -> None:
        if self._live is not None:
            self._live.refresh()

    def _render(self) -> Group:
        return Group(*(window_table(w.label, w.tracker.snapshot()) for w in self.windows))

    def _opened(self, out: TextIO) -> None:
        self.console.file = out
        self._live = Live(
            console=self.console,
            get_renderable=self._render,
            auto_refresh=self.auto_refresh,
            refresh_per_second=REFRESH_PER_SECOND,
            # Dagster captures stdout and stderr during a run; leave them to it.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start(refresh=True)

    def _finished(self, window: Window) -> None:
        # Without the window first: a print redraws the live area's last frame below it.
        self._redraw()
        snapshot = window.tracker.snapshot()
        if snapshot.streams:
            self.console.print(Text(format_summary(window.label, snapshot)))

    def _closed(self) -> None:
        if self._live is not None:
            self._live.stop()
        self._live = None


class LineDisplay(WindowBoard):
    """Plain lines (stdout is a pipe or a file: cron, CI logs): at most one every
    `interval_seconds` on `clock`, with a short segment per open window, and one per window as
    it finishes, with its streams. Lines follow the reports (no timer thread): while nothing
    happens, nothing is written."""

    def __init__(self, stream: TextIO, *, interval_seconds: float, clock: Clock = time.monotonic):
        super().__init__(stream, clock=clock)
        self.interval_seconds = interval_seconds
        self._out = stream
        self._last_line_at = clock()

    def _sink(self, window: Window) -> ProgressSink:
        return ThenCall(window.tracker, self._write_if_due)

    def _write_if_due(self) -> None:
        with self._lock:
            now = self.clock()
            if now - self._last_line_at < self.interval_seconds:
                return
            snapshots = [(w.label, w.tracker.snapshot()) for w in self.windows]
            segments = [format_segment(label, s) for label, s in snapshots if s.streams]
            if segments:
                self._last_line_at = now
                self._print(" | ".join(segments))

    def _opened(self, out: TextIO) -> None:
        self._out = out
        self._last_line_at = self.clock()

    def _finished(self, window: Window) -> None:
        snapshot = window.tracker.snapshot()
        if snapshot.streams:
            self._print(format_summary(window.label, snapshot))

    def _closed(self) -> None:
        self._out = self.stream

    def _print(self, line: str) -> None:
        print(line, file=self._out, flush=True)


def sync_display(stream: TextIO, *, interval_seconds: float) -> SyncDisplay:
    """The display for `stream`: live on a terminal (as rich sees it), lines otherwise."""
    if Console(file=stream).is_terminal:
        return LiveDisplay(stream)
    return LineDisplay(stream, interval_seconds=interval_seconds)
