"""The sync's displays in-process: rich's live area forced into terminal mode, and plain lines,
both fed through the process relay's channel of their window as a run's resource feeds them."""

from __future__ import annotations

import io

from pylon_dagster.catalog import endpoints
from pylon_dagster.progress.display import LineDisplay, LiveDisplay, sync_display
from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster_tests.progress.support import (
    ANSI_ESCAPE,
    FakeClock,
    etas,
    report_an_issues_window,
)

MESSAGES = endpoints.ISSUE_MESSAGES.key
ISSUES = "[2/2] issues"
REFERENCE = "[1/2] reference streams"


def live_display(out: io.StringIO, clock: FakeClock) -> LiveDisplay:
    return LiveDisplay(out, clock=clock, auto_refresh=False, force_terminal=True, width=120)


def test_the_live_display_redraws_the_counts_and_a_falling_eta():
    clock = FakeClock()
    out = io.StringIO()
    display = live_display(out, clock)
    channel = PROCESS_RELAY.channel(ISSUES)
    with display.window(ISSUES):
        report_an_issues_window(channel, clock, steps=1)
        for _ in range(4):
            display.refresh()
            clock.advance(0.25)
            channel.requested(MESSAGES, 120, 60.0)
            channel.advanced("issue_messages", records=1, fetches=1)
        display.refresh()
    assert "\x1b[" in out.getvalue()  # drawn for a terminal
    shown = etas(out.getvalue(), ISSUES)
    assert len(shown) >= 5 and shown == sorted(shown, reverse=True) and shown[0] > shown[-1]
    plain = ANSI_ESCAPE.sub("", out.getvalue())
    assert "5/12" in plain and "120/min" in plain


def test_lines_go_to_a_pipe_and_the_window_ends_with_one():
    out = io.StringIO()
    display = sync_display(out, interval_seconds=3600)
    assert isinstance(display, LineDisplay)  # a StringIO is no terminal
    with display.window(ISSUES):
        report_an_issues_window(PROCESS_RELAY.channel(ISSUES), FakeClock())
    # Plans write no line of their own: within the interval, only the window's last line.
    (line,) = out.getvalue().splitlines()
    assert line.startswith(f"{ISSUES}: finished | issues: 12 records, 1 requests at 120/min | ")
    assert line.endswith("issue_messages: 3/12 fetches, 9 records, 3 requests at 120/min")
    PROCESS_RELAY.channel(ISSUES).advanced("issues", records=1)  # after the window nobody listens
    assert len(out.getvalue().splitlines()) == 1


def test_a_forced_terminal_shows_the_window_live_then_its_last_line():
    out = io.StringIO()
    display = LiveDisplay(out, force_terminal=True, width=120)  # rich redraws from its thread
    with display.window(ISSUES):
        report_an_issues_window(PROCESS_RELAY.channel(ISSUES), FakeClock())
    hide_cursor, show_cursor = "\x1b[?25l", "\x1b[?25h"  # while rich's live area is up
    assert out.getvalue().startswith(hide_cursor) and out.getvalue().endswith(show_cursor)
    plain = ANSI_ESCAPE.sub("", out.getvalue())
    assert f"{ISSUES}: finished | issues: 12 records" in plain and "3/12 fetches" in plain


def test_the_live_area_shows_every_open_window_and_a_finished_one_leaves_it_for_a_line():
    clock = FakeClock()
    out = io.StringIO()
    display = live_display(out, clock)
    with display.window(ISSUES):
        with display.window(REFERENCE):
            PROCESS_RELAY.channel(REFERENCE).advanced("accounts", records=40)
            report_an_issues_window(PROCESS_RELAY.channel(ISSUES), clock)
            display.refresh()
            both = ANSI_ESCAPE.sub("", out.getvalue())
        display.refresh()
        after = ANSI_ESCAPE.sub("", out.getvalue())[len(both) :]
    frame = both[both.rindex(f"{ISSUES}  ETA") :]  # the last frame, both windows' tables in it
    assert f"{REFERENCE}  ETA unknown" in frame and "accounts" in frame
    assert "issue_messages" in frame and "3/12" in frame
    # The reference window's last line above, then frames of the issues window alone.
    summary = f"{REFERENCE}: finished | accounts: 40 records, no requests yet"
    assert summary in after
    assert f"{ISSUES}  ETA" in after[after.index(summary) :]
    assert f"{REFERENCE}  ETA" not in after
    assert f"{ISSUES}: finished | issues: 12 records" in ANSI_ESCAPE.sub("", out.getvalue())
