"""The sync's displays in-process: rich's live table forced into terminal mode, and plain lines,
both fed through the process relay as a run's resource feeds them."""

from __future__ import annotations

import io

from rich.console import Console

from pylon_dagster.progress.display import LineDisplay, LiveDisplay, sync_display
from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster.progress.terminal import LiveTable
from pylon_dagster.pylon import endpoints
from pylon_dagster_tests.progress.support import ANSI_ESCAPE, FakeClock, etas

MESSAGES = endpoints.ISSUE_MESSAGES.key


def report_a_window(clock: FakeClock, steps: int = 3) -> None:
    """What the issues run reports: a page of issues, then messages fetched one by one."""
    PROCESS_RELAY.requested(endpoints.ISSUES_SEARCH.key, 120, 60.0)
    PROCESS_RELAY.advanced("issues", records=12)
    PROCESS_RELAY.planned("issue_messages", None)
    PROCESS_RELAY.planned("issue_messages", 12)
    for _ in range(steps):
        PROCESS_RELAY.requested(MESSAGES, 120, 60.0)
        PROCESS_RELAY.advanced("issue_messages", records=3, fetches=1)
        clock.advance(0.5)


def test_the_live_table_redraws_the_counts_and_a_falling_eta():
    clock = FakeClock()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with (
        LiveTable(console, "[2/2] issues", clock=clock, auto_refresh=False) as table,
        PROCESS_RELAY.listening(table),
    ):
        report_a_window(clock, steps=1)
        for _ in range(4):
            table.refresh()
            clock.advance(0.25)
            PROCESS_RELAY.requested(MESSAGES, 120, 60.0)
            PROCESS_RELAY.advanced("issue_messages", records=1, fetches=1)
    assert "\x1b[" in out.getvalue()  # drawn for a terminal
    shown = etas(out.getvalue(), "[2/2] issues")
    assert len(shown) >= 5 and shown == sorted(shown, reverse=True) and shown[0] > shown[-1]
    plain = ANSI_ESCAPE.sub("", out.getvalue())
    assert "5/12" in plain and "120/min" in plain


def test_lines_go_to_a_pipe_and_the_window_ends_with_one():
    out = io.StringIO()
    display = sync_display(out, interval_seconds=3600)
    assert isinstance(display, LineDisplay)  # a StringIO is no terminal
    with display.window("[2/2] issues"):
        report_a_window(FakeClock())
    lines = out.getvalue().splitlines()
    # Two plans (the second counted), then the window's last line.
    assert len(lines) == 3
    assert lines[-1].startswith("[2/2] issues: ETA ")
    assert "issue_messages: 3/12 fetches, 9 records, 3 requests at 120/min" in lines[-1]
    PROCESS_RELAY.advanced("issues", records=1)  # after the window nobody listens
    assert len(out.getvalue().splitlines()) == 3


def test_a_forced_terminal_shows_the_window_live():
    out = io.StringIO()
    display = LiveDisplay(out, force_terminal=True, width=120)
    with display.window("[2/2] issues"):
        report_a_window(FakeClock())
    assert "issue_messages" in ANSI_ESCAPE.sub("", out.getvalue())
    assert etas(out.getvalue(), "[2/2] issues")
