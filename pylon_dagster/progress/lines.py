"""Progress as plain lines, at most one per interval: for logs, CI, cron and Dagster's event log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pylon_dagster.progress.tracker import Clock, ProgressSnapshot, ProgressTracker, StreamProgress


def format_duration(seconds: float | None) -> str:
    """`4.1s`, `4m09s`, `1h02m09s`; `unknown` for None."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_rate(rate: float | None, window_seconds: float) -> str:
    """`120/min` against Pylon, `20/0.5s` against a time-scaled emulator; `unpaced` without one."""
    if rate is None:
        return "unpaced"
    return f"{rate:g}/min" if window_seconds == 60 else f"{rate:g}/{window_seconds:g}s"


def format_fetches(row: StreamProgress) -> str:
    """`40/118`: child fetches done and to do (`?` until the parents are known)."""
    planned = "?" if row.fetches_planned is None else row.fetches_planned
    return f"{row.fetches_done}/{planned}"


def format_stream(row: StreamProgress, *, time_left: bool = True) -> str:
    parts = [f"{row.records} records"]
    if row.fetches_expected:
        parts.insert(0, f"{format_fetches(row)} fetches")
    parts.append(
        f"{row.requests} requests at {format_rate(row.rate, row.window_seconds)}"
        if row.requests
        else "no requests yet"
    )
    if row.fetches_expected and time_left:
        parts.append(f"{format_duration(row.seconds_left)} left")
    return f"{row.stream}: {', '.join(parts)}"


def format_line(snapshot: ProgressSnapshot, label: str | None = None) -> str:
    """One line: the window, its ETA, then each stream (see README, "Progress")."""
    head = f"{label}: " if label else "progress: "
    return " | ".join(
        [f"{head}ETA {format_duration(snapshot.seconds_left)}"]
        + [format_stream(row) for row in snapshot.streams]
    )


def format_segment(label: str, snapshot: ProgressSnapshot) -> str:
    """One window among several on a line, its streams added up: `label: 750 records, 78/380
    fetches, ETA 4m09s`, leaving out what is not known yet. The ETA comes last, so no punctuation
    sticks to it."""
    rows = snapshot.streams
    parts = [f"{sum(row.records for row in rows)} records"]
    fetching = [row for row in rows if row.fetches_expected]
    if fetching:
        done = sum(row.fetches_done for row in fetching)
        planned = [row.fetches_planned for row in fetching if row.fetches_planned is not None]
        total = f"/{sum(planned)}" if len(planned) == len(fetching) else ""
        parts.append(f"{done}{total} fetches")
    if snapshot.seconds_left is not None:
        parts.append(f"ETA {format_duration(snapshot.seconds_left)}")
    return f"{label}: {', '.join(parts)}"


def format_summary(label: str, snapshot: ProgressSnapshot) -> str:
    """The line of a window that finished: what each stream did."""
    return " | ".join(
        [f"{label}: finished"] + [format_stream(row, time_left=False) for row in snapshot.streams]
    )


class PeriodicLines:
    """A `ProgressSink` writing the progress with `emit`, one line at most every
    `interval_seconds` on `clock`, and at once when a stream's fetches to do become known.

    Lines follow the reports (no timer thread): while nothing happens, nothing is written.
    """

    def __init__(
        self,
        emit: Callable[[str], None],
        *,
        interval_seconds: float,
        label: str | None = None,
        clock: Clock = time.monotonic,
    ):
        self.tracker = ProgressTracker(clock)
        self.label = label
        self.interval_seconds = interval_seconds
        self._emit = emit
        self._clock = clock
        self._lock = threading.Lock()
        self._last_line_at = clock()

    def planned(self, stream: str, fetches: int | None) -> None:
        self.tracker.planned(stream, fetches)
        self._write(due_only=False)

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        self.tracker.advanced(stream, records=records, fetches=fetches)
        self._write(due_only=True)

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self.tracker.requested(endpoint, rate, window_seconds)
        self._write(due_only=True)

    def flush(self) -> None:
        """Write the latest state now (at the end of a window), if any stream reported."""
        self._write(due_only=False)

    def _write(self, *, due_only: bool) -> None:
        with self._lock:
            now = self._clock()
            if due_only and now - self._last_line_at < self.interval_seconds:
                return
            snapshot = self.tracker.snapshot()
            if not snapshot.streams:
                return
            self._last_line_at = now
            self._emit(format_line(snapshot, self.label))
