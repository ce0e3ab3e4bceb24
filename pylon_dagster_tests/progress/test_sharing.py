"""Windows open side by side share each endpoint's budget, so each one's time left: in-process,
on an injected clock."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.progress.display import LineDisplay
from pylon_dagster.progress.eta import EndpointPace, endpoint_seconds_left, requests_ahead
from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster.progress.tracker import BudgetSharers, ProgressTracker
from pylon_dagster_tests.progress.support import FakeClock

MESSAGES = endpoints.ISSUE_MESSAGES.key
THREADS = endpoints.ISSUE_THREADS.key


def test_each_sharer_puts_as_many_requests_ahead_as_it_has_left_up_to_ours():
    assert requests_ahead(10, []) == 0
    assert requests_ahead(10, [10]) == 10
    assert requests_ahead(10, [4, 30]) == 4 + 10
    assert requests_ahead(0, [5]) == 0
    assert requests_ahead(10, [4, None]) is None  # a sharer still counting its work


def test_requests_ahead_go_at_the_same_pace_before_our_last():
    # 20 a minute: one every 3 s. Alone, the 10th goes 27 s from now; with 10 ahead, 57 s.
    alone = EndpointPace(10, 20, 60.0, last_request_at=None)
    shared = EndpointPace(10, 20, 60.0, last_request_at=None, ahead=10)
    assert endpoint_seconds_left(alone, now=0.0) == pytest.approx(27.0)
    assert endpoint_seconds_left(shared, now=0.0) == pytest.approx(57.0)
    unknown = EndpointPace(10, 20, 60.0, last_request_at=None, ahead=None)
    assert endpoint_seconds_left(unknown, now=0.0) is None
    done = EndpointPace(0, 20, 60.0, last_request_at=None, ahead=None)
    assert endpoint_seconds_left(done, now=0.0) == 0.0


def windows(count: int, clock: FakeClock, sharers: BudgetSharers) -> list[ProgressTracker]:
    return [ProgressTracker(clock, sharers) for _ in range(count)]


def send(tracker: ProgressTracker, requests: int, endpoint: str = MESSAGES) -> None:
    for _ in range(requests):
        tracker.requested(endpoint, 20, 60.0)


@pytest.mark.parametrize("count", [2, 3])
def test_sharers_with_the_same_work_take_as_many_times_as_long(count):
    clock = FakeClock()
    sharers = BudgetSharers()
    trackers = windows(count, clock, sharers)
    with ExitStack() as open_windows:
        for tracker in trackers:
            open_windows.enter_context(sharers.joined(tracker))
            tracker.planned("issue_messages", 10)
            send(tracker, 1)
        # 9 left each: the next of ours in 3 s, then 8 more of ours and 9 of each other window.
        for tracker in trackers:
            snapshot = tracker.snapshot()
            assert snapshot.seconds_left == pytest.approx(3.0 + (8 + 9 * (count - 1)) * 3.0)
            (row,) = (r for r in snapshot.streams if r.stream == "issue_messages")
            assert row.seconds_left == snapshot.seconds_left
    alone = ProgressTracker(clock)  # not joined: the whole rate
    alone.planned("issue_messages", 10)
    send(alone, 1)
    assert alone.snapshot().seconds_left == pytest.approx(27.0)


@contextmanager
def ours_and_another() -> Iterator[tuple[BudgetSharers, ProgressTracker, ProgressTracker]]:
    """Two windows open side by side; ours has sent the first of its 10 message fetches."""
    sharers = BudgetSharers()
    ours, other = windows(2, FakeClock(), sharers)
    with sharers.joined(ours), sharers.joined(other):
        ours.planned("issue_messages", 10)
        send(ours, 1)
        yield sharers, ours, other


def test_a_sharer_that_finishes_early_holds_us_up_only_until_then_and_leaves():
    with ours_and_another() as (sharers, ours, short):
        short.planned("issue_messages", 3)
        send(short, 1)
        # Ours: 9 left, the short one 2, both of which go before our last.
        assert ours.snapshot().seconds_left == pytest.approx(3.0 + (8 + 2) * 3.0)
        # The short one: its own 2, and 2 of ours in between.
        assert short.snapshot().seconds_left == pytest.approx(3.0 + (1 + 2) * 3.0)
        send(short, 2)
        assert ours.snapshot().seconds_left == pytest.approx(3.0 + 8 * 3.0)
        assert short.snapshot().seconds_left == 0.0
        short.planned("issue_messages", 4)  # more work (a later stream): it shares again
        assert ours.snapshot().seconds_left == pytest.approx(3.0 + (8 + 4) * 3.0)
    with sharers.joined(ours):  # the short window closed: it no longer counts
        assert ours.snapshot().seconds_left == pytest.approx(3.0 + 8 * 3.0)


def test_only_the_same_endpoint_is_shared_and_an_uncounted_sharer_makes_it_unknown():
    with ours_and_another() as (_, ours, other):
        other.planned("issue_threads", 50)
        send(other, 1, THREADS)
        assert ours.snapshot().seconds_left == pytest.approx(27.0)
        other.planned("issue_messages", None)  # announced, not counted yet
        assert ours.snapshot().seconds_left is None
        other.planned("issue_messages", 5)
        assert ours.snapshot().seconds_left == pytest.approx(3.0 + (8 + 5) * 3.0)


def test_the_windows_a_display_shows_together_share_the_budget():
    clock = FakeClock()
    out = io.StringIO()
    display = LineDisplay(out, interval_seconds=3600, clock=clock)
    first, second = "[2/3] issues", "[3/3] issues"
    with display.window(first):
        PROCESS_RELAY.channel(first).planned("issue_messages", 10)
        PROCESS_RELAY.channel(first).requested(MESSAGES, 20, 60.0)
        with display.window(second):
            PROCESS_RELAY.channel(second).planned("issue_messages", 10)
            PROCESS_RELAY.channel(second).requested(MESSAGES, 20, 60.0)
            shown = {w.label: w.tracker.snapshot().seconds_left for w in display.windows}
        alone = display.windows[0].tracker.snapshot().seconds_left
    assert shown == {first: pytest.approx(3.0 + 17 * 3.0), second: pytest.approx(3.0 + 17 * 3.0)}
    assert alone == pytest.approx(27.0)
