"""Progress in a terminal: a rich live table of the window's streams, redrawn a few times a second."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from pylon_dagster.progress.lines import format_duration, format_fetches, format_rate
from pylon_dagster.progress.tracker import Clock, ProgressTracker

REFRESH_PER_SECOND = 4
BAR_WIDTH = 24


class LiveTable:
    """A `ProgressSink` shown as a rich `Live` table while the `with` block runs; the last frame
    stays on screen. Rich redraws from its own thread, so the time left counts down between
    reports too."""

    def __init__(
        self,
        console: Console,
        label: str,
        *,
        clock: Clock = time.monotonic,
        auto_refresh: bool = True,
    ):
        self.tracker = ProgressTracker(clock)
        self.label = label
        self._live = Live(
            console=console,
            get_renderable=self.render,
            auto_refresh=auto_refresh,
            refresh_per_second=REFRESH_PER_SECOND,
            # Dagster captures stdout and stderr during a run; leave them to it.
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveTable:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()

    def refresh(self) -> None:
        self._live.refresh()

    def planned(self, stream: str, fetches: int | None) -> None:
        self.tracker.planned(stream, fetches)

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        self.tracker.advanced(stream, records=records, fetches=fetches)

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self.tracker.requested(endpoint, rate, window_seconds)

    def render(self) -> Table:
        snapshot = self.tracker.snapshot()
        table = Table(
            title=f"{self.label}  ETA {format_duration(snapshot.seconds_left)}",
            title_justify="left",
        )
        for column in ("stream", "progress", "fetches", "records", "requests", "rate", "left"):
            table.add_column(column, justify="left" if column == "stream" else "right")
        for row in snapshot.streams:
            fetches = row.fetches_expected
            table.add_row(
                row.stream,
                ProgressBar(total=row.fetches_planned, completed=row.fetches_done, width=BAR_WIDTH)
                if fetches
                else "",
                format_fetches(row) if fetches else "",
                str(row.records),
                str(row.requests),
                format_rate(row.rate, row.window_seconds) if row.requests else "",
                format_duration(row.seconds_left) if fetches else "",
            )
        return table
