"""The time left, the tracker behind it and the periodic lines, on an injected clock."""

from __future__ import annotations

import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.progress.eta import EndpointPace, endpoint_seconds_left, seconds_left
from pylon_dagster.progress.lines import PeriodicLines, format_duration, format_line
from pylon_dagster.progress.tracker import ProgressTracker
from pylon_dagster_tests.progress.support import FakeClock

MESSAGES = endpoints.ISSUE_MESSAGES.key
THREADS = endpoints.ISSUE_THREADS.key
SEARCH = endpoints.ISSUES_SEARCH.key


def pace(remaining: int, rate: float | None = 20, last: float | None = None) -> EndpointPace:
    return EndpointPace(remaining, rate, window_seconds=60.0, last_request_at=last)


def test_an_endpoint_needs_one_interval_per_request_after_the_next():
    # 20 a minute: one request every 3 s; the next can go now, the 10th 27 s later.
    assert endpoint_seconds_left(pace(10), now=0.0) == pytest.approx(27.0)
    # The last request went 1 s ago: the next waits 2 s more.
    assert endpoint_seconds_left(pace(10, last=-1.0), now=0.0) == pytest.approx(29.0)
    assert endpoint_seconds_left(pace(0), now=0.0) == 0.0
    assert endpoint_seconds_left(pace(5, rate=None), now=0.0) is None


def test_a_fractional_learned_rate_paces_like_the_budget_allows():
    # The budget lets floor(rate) requests into a window, at least one.
    assert endpoint_seconds_left(pace(3, rate=20.7), now=0.0) == pytest.approx(6.0)
    assert endpoint_seconds_left(pace(3, rate=0.5), now=0.0) == pytest.approx(120.0)


def test_endpoints_run_in_parallel_so_the_slowest_decides():
    assert seconds_left([pace(10, rate=20), pace(10, rate=120)], now=0.0) == pytest.approx(27.0)
    assert seconds_left([pace(10), pace(10, rate=None)], now=0.0) is None
    assert seconds_left([], now=0.0) is None


def test_time_left_falls_with_the_clock_and_never_grows_at_a_late_request():
    clock = FakeClock()
    tracker = ProgressTracker(clock)
    tracker.planned("issue_messages", 10)
    assert tracker.snapshot().seconds_left is None  # no rate granted yet
    tracker.requested(MESSAGES, 20, 60.0)
    seen = [tracker.snapshot().seconds_left]
    assert seen[0] == pytest.approx(27.0)  # 9 left: 3 s until the next, then 8 more
    for late_by in (1.0, 2.0, 3.0, 5.0, 0.5):
        clock.advance(late_by)
        seen.append(tracker.snapshot().seconds_left)
        tracker.requested(MESSAGES, 20, 60.0)
        seen.append(tracker.snapshot().seconds_left)
    assert seen == sorted(seen, reverse=True)
    assert seen[-1] == pytest.approx(12.0)  # 4 left after 6 requests


def test_the_window_time_left_is_the_slowest_planned_endpoint():
    clock = FakeClock()
    tracker = ProgressTracker(clock)
    tracker.requested(SEARCH, 20, 60.0)
    tracker.advanced("issues", records=118)
    tracker.planned("issue_messages", 31)
    tracker.planned("issue_threads", 11)
    tracker.requested(MESSAGES, 120, 60.0)
    tracker.requested(THREADS, 20, 60.0)
    snapshot = tracker.snapshot()
    rows = {row.stream: row for row in snapshot.streams}
    assert rows["issue_messages"].seconds_left == pytest.approx(29 * 0.5 + 0.5)
    assert rows["issue_threads"].seconds_left == pytest.approx(3.0 + 9 * 3.0)
    assert snapshot.seconds_left == pytest.approx(30.0)
    assert rows["issues"].seconds_left is None  # a list read as it comes: nothing planned
    assert (rows["issues"].records, rows["issues"].requests) == (118, 1)


def test_a_new_plan_counts_requests_from_then_on():
    tracker = ProgressTracker(FakeClock())
    tracker.planned("issue_messages", 5)
    for _ in range(5):
        tracker.requested(MESSAGES, 60, 60.0)
        tracker.advanced("issue_messages", records=2, fetches=1)
    assert tracker.snapshot().seconds_left == 0.0
    tracker.planned("issue_messages", 4)  # a retried step plans again
    row = tracker.snapshot().streams[0]
    assert (row.fetches_done, row.fetches_planned, row.records, row.requests) == (0, 4, 10, 5)
    assert row.seconds_left == pytest.approx(4.0)  # the last request just went: 1 s, then 3


def test_lines_come_at_most_once_per_interval_and_at_once_for_a_plan():
    clock = FakeClock()
    lines: list[str] = []
    sink = PeriodicLines(lines.append, interval_seconds=10.0, label="window", clock=clock)
    sink.requested(SEARCH, 20, 60.0)
    sink.advanced("issues", records=3)
    assert lines == []  # less than an interval since the start
    sink.planned("issue_messages", 4)
    assert len(lines) == 1 and "issue_messages: 0/4 fetches" in lines[0]
    for _ in range(3):
        clock.advance(4.0)
        sink.requested(MESSAGES, 20, 60.0)
        sink.advanced("issue_messages", records=1, fetches=1)
    # at 4, 8 s: not yet; at 12 s: one line (the request), not two.
    assert len(lines) == 2
    assert lines[1].startswith("window: ETA 3.0s | issues: 3 records, 1 requests at 20/min")
    assert "issue_messages: 2/4 fetches, 2 records, 3 requests at 20/min, 3.0s left" in lines[1]
    sink.flush()
    assert lines[2].startswith("window: ETA 3.0s")
    assert "3/4 fetches" in lines[2]


def test_no_line_before_any_stream_reported():
    lines: list[str] = []
    sink = PeriodicLines(lines.append, interval_seconds=0.0, clock=FakeClock())
    sink.requested(endpoints.ME.key, 300, 60.0)  # a request outside any stream
    sink.flush()
    assert lines == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "unknown"), (0, "0.0s"), (4.06, "4.1s"), (249, "4m09s"), (3729.4, "1h02m09s")],
)
def test_durations_read_as_hours_minutes_seconds(seconds, text):
    assert format_duration(seconds) == text


def test_a_line_without_a_label_says_it_is_progress():
    tracker = ProgressTracker(FakeClock())
    tracker.advanced("accounts", records=40)
    assert format_line(tracker.snapshot()) == (
        "progress: ETA unknown | accounts: 40 records, no requests yet"
    )


def test_streams_fetched_together_give_no_time_left_until_each_has_counted_its_work():
    tracker = ProgressTracker(FakeClock())
    tracker.planned("issue_messages", None)
    tracker.planned("issue_threads", None)
    tracker.planned("issue_messages", 10)
    tracker.requested(MESSAGES, 20, 60.0)
    assert tracker.snapshot().seconds_left is None  # threads' count is still unknown
    assert "issue_threads: 0/? fetches" in format_line(tracker.snapshot())
    tracker.planned("issue_threads", 20)
    tracker.requested(THREADS, 20, 60.0)
    assert tracker.snapshot().seconds_left == pytest.approx(3.0 + 18 * 3.0)
