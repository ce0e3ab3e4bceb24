"""Several windows at once, as the sync runs them: each run's progress reaches only its own window
(through `PylonResource` and the run tag `WINDOW_TAG`), and the line display stays terse."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import SimpleNamespace

from pylon_dagster.catalog import endpoints
from pylon_dagster.progress.display import LineDisplay
from pylon_dagster.progress.relay import WINDOW_TAG
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.progress.support import FakeClock, run_together

REFERENCE = "[1/2] reference streams"
ISSUES = "[2/2] issues 2026-02-13 .. 2026-03-14 (30 days)"


def pylon_for_run(tags: dict[str, str], log: Callable[[str], None] | None = None) -> PylonResource:
    """A `PylonResource` set up as Dagster sets it up for a run with `tags` (no connection made)."""
    pylon = PylonResource(
        api_token="token", warehouse=PostgresWarehouse(url="postgresql://sync@localhost/pylon")
    )
    run_log = None if log is None else SimpleNamespace(info=log)
    pylon.setup_for_execution(SimpleNamespace(run=SimpleNamespace(tags=tags), log=run_log))
    return pylon


def test_windows_open_at_once_in_threads_get_only_their_own_runs_progress():
    out = io.StringIO()
    display = LineDisplay(out, interval_seconds=3600, clock=FakeClock())
    open_labels: list[set[str]] = []

    def run(label: str, stream: str, records: int) -> Callable[[Callable[[], None]], None]:
        def task(meet: Callable[[], None]) -> None:
            pylon = pylon_for_run({WINDOW_TAG: label})
            with display.window(label):
                meet()  # both windows are open
                open_labels.append({window.label for window in display.windows})
                for _ in range(records):
                    pylon.progress.advanced(stream, records=1)
                meet()  # both have reported: neither closes while the other reports

        return task

    run_together(run(REFERENCE, "accounts", 40), run(ISSUES, "issues", 12))
    assert open_labels == [{REFERENCE, ISSUES}] * 2
    assert sorted(out.getvalue().splitlines()) == [
        f"{REFERENCE}: finished | accounts: 40 records, no requests yet",
        f"{ISSUES}: finished | issues: 12 records, no requests yet",
    ]
    assert display.windows == ()


def test_a_run_without_the_window_tag_reports_to_its_event_log_only():
    out = io.StringIO()
    display = LineDisplay(out, interval_seconds=0, clock=FakeClock())
    logged: list[str] = []
    pylon = pylon_for_run({}, log=logged.append)
    with display.window(REFERENCE):
        pylon.progress.advanced("accounts", records=3)
        pylon.teardown_after_execution(SimpleNamespace())
    assert out.getvalue() == ""
    assert logged == ["progress: ETA unknown | accounts: 3 records, no requests yet"]


def test_two_windows_write_one_line_per_interval_in_all_and_one_each_as_they_finish():
    clock = FakeClock()
    out = io.StringIO()
    display = LineDisplay(out, interval_seconds=10.0, clock=clock)
    issues = pylon_for_run({WINDOW_TAG: ISSUES}).progress
    reference = pylon_for_run({WINDOW_TAG: REFERENCE}).progress

    def report(steps: int) -> None:
        """Reports to both windows, a plan among them, one step of 0.125 s (exact in binary:
        the clock lands on the interval, not next to it) after another."""
        for _ in range(steps):
            reference.advanced("accounts", records=1)
            reference.planned("knowledge_base_articles", 10)
            issues.requested(endpoints.ISSUE_MESSAGES.key, 120, 60.0)
            issues.advanced("issue_messages", records=2, fetches=1)
            clock.advance(0.125)

    with display.window(REFERENCE), display.window(ISSUES):
        issues.requested(endpoints.ISSUES_SEARCH.key, 120, 60.0)
        issues.advanced("issues", records=300)
        issues.planned("issue_messages", 300)
        report(80)  # 400 reports in the 10 s since the windows opened
        assert out.getvalue() == ""
        report(80)  # the first report after 10 s writes; the next 10 s, nothing more
    periodic, issues_last, reference_last = out.getvalue().splitlines()
    # 81 accounts at the first report after 10 s; 80 of 300 messages requested, the next one
    # 0.375 s away and 219 after it at 0.5 s each: 109.9 s. The reference window has no ETA.
    assert periodic == (
        f"{REFERENCE}: 81 records, 0/10 fetches | {ISSUES}: 460 records, 80/300 fetches, ETA 1m50s"
    )
    assert issues_last == (
        f"{ISSUES}: finished | issues: 300 records, 1 requests at 120/min | "
        "issue_messages: 160/300 fetches, 320 records, 160 requests at 120/min"
    )
    assert reference_last == (
        f"{REFERENCE}: finished | accounts: 160 records, no requests yet | "
        "knowledge_base_articles: 0/10 fetches, 0 records, no requests yet"
    )
