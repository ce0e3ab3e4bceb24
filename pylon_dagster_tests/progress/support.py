"""Support for the progress tests: a clock that moves on demand, reading ETAs back from output,
what an issues run reports, and tasks run in threads at the same time."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pylon_dagster.catalog import endpoints
from pylon_dagster.progress.sink import ProgressSink

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s")


def seconds(duration: str) -> float:
    """`4.1s`, `4m09s`, `1h02m09s` as seconds (the inverse of `format_duration`)."""
    match = DURATION.fullmatch(duration)
    assert match, f"not a duration: {duration!r}"
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs)


def etas(output: str, window: str) -> list[float]:
    """Every known ETA shown for the window labelled `window` (e.g. `[2/2]`), in order."""
    text = ANSI_ESCAPE.sub("", output)
    found = re.findall(re.escape(window) + r"[^\n|]*?ETA (\S+)", text)
    return [seconds(value) for value in found if value != "unknown"]


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def report_an_issues_window(sink: ProgressSink, clock: FakeClock, steps: int = 3) -> None:
    """What the issues run reports: a page of issues, then messages fetched one by one."""
    sink.requested(endpoints.ISSUES_SEARCH.key, 120, 60.0)
    sink.advanced("issues", records=12)
    sink.planned("issue_messages", None)
    sink.planned("issue_messages", 12)
    for _ in range(steps):
        sink.requested(endpoints.ISSUE_MESSAGES.key, 120, 60.0)
        sink.advanced("issue_messages", records=3, fetches=1)
        clock.advance(0.5)


def run_together(*tasks: Callable[[Callable[[], None]], None]) -> None:
    """Each task in a thread of its own, given `meet()`: a point every task reaches before any
    goes on. A task that fails breaks the meeting (the others fail instead of waiting for it), and
    its error is raised here."""
    barrier = threading.Barrier(len(tasks))

    def run(task: Callable[[Callable[[], None]], None]) -> None:
        try:
            task(barrier.wait)
        except BaseException:
            barrier.abort()
            raise

    with ThreadPoolExecutor(len(tasks)) as pool:
        futures = [pool.submit(run, task) for task in tasks]
    errors = [error for error in (future.exception() for future in futures) if error]
    if errors:  # the cause first, not a task that found the meeting broken
        raise min(errors, key=lambda error: isinstance(error, threading.BrokenBarrierError))
