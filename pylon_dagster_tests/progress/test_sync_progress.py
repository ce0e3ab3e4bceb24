"""Progress of a real sync against the emulator: the CLI on a terminal and on a pipe, and the run's
event log. The ETA must be present, never grow, and agree with what the emulator's rate limits
allow: the remaining child requests divided by the granted rate, computed here independently."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.catalog import endpoints
from pylon_dagster.jobs import jobs
from pylon_dagster.settings import Settings
from pylon_dagster.sync import run_sync
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.emulator import emulator_resource, make_emulator, told_limits
from pylon_dagster_tests.fixtures.pipeline import Pipeline, rows_of
from pylon_dagster_tests.progress.support import etas
from pylon_dagster_tests.reliability.cli_process import (
    CLI_TIMEOUT_SECONDS,
    cli_env,
    run_cli,
    sync_command,
)
from pylon_emulator import EmulatorServer, PylonEmulator

ONE_WINDOW = ("--start", "2026-02-13", "--end", "2026-03-14")
ISSUES_WINDOW = "] issues 2026-02-13 .. 2026-03-14 (30 days)"
"""The label of the one issues run's window, after its number (the issues run and the reference
streams start side by side, in either order)."""
CHILD_ENDPOINTS = (endpoints.ISSUE_MESSAGES.key, endpoints.ISSUE_THREADS.key)


@pytest.fixture
def emulator() -> PylonEmulator:
    """April 2026 limits (20 child requests a minute) and a one-second minute: the ~115 issues of
    the window need about six minutes of budget, so the ETA has time to be seen falling."""
    return make_emulator(time_scale=60.0)


def expected_seconds(server: EmulatorServer, warehouse: PostgresWarehouse) -> float:
    """Every issue of the window needs one request per child endpoint, at the told rate."""
    emulator = server.emulator
    issues = len(rows_of(warehouse, "issues"))
    rate = min(emulator.rate_limits[key] for key in CHILD_ENDPOINTS)
    return issues / rate * emulator.window_seconds


def assert_plausible_and_falling(shown: list[float], server: EmulatorServer, expected: float):
    assert len(set(shown)) >= 2, shown
    assert shown == sorted(shown, reverse=True), shown
    # The first ETA comes after the first requests: at most all of the window's child requests,
    # at least half of them (the first window's free slots go at once).
    assert 0.5 * expected <= shown[0] <= expected + 0.05, (shown[0], expected)
    limits = {key: server.emulator.rate_limits[key] for key in CHILD_ENDPOINTS}
    floor = server.emulator.counters().rate_floor_seconds(limits, server.emulator.window_seconds)
    assert 0.5 * floor <= shown[0] <= floor + 0.05, (shown[0], floor)


def progress_env(server: EmulatorServer, warehouse: PostgresWarehouse, state: Path, **extra: str):
    return cli_env(
        server, warehouse, state, PYLON_RATE_LIMITS=told_limits(server.emulator), **extra
    )


def run_in_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """`pylon-dagster sync ARGS` with a pseudo-terminal as stdin, stdout and stderr."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        sync_command(*args), env=env, stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + CLI_TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: every writer has exited
                break
            if not chunk:
                break
            output += chunk
        else:
            process.kill()
            pytest.fail("the sync did not finish under a terminal")
        return process.wait(timeout=30), output.decode("utf-8", errors="replace")
    finally:
        os.close(controller)


@pytest.mark.slow
def test_a_terminal_shows_a_live_table_whose_eta_falls_as_the_budget_allows(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    env = progress_env(emulator_server, warehouse, tmp_path, COLUMNS="160", LINES="40")
    code, output = run_in_terminal(env, *ONE_WINDOW)
    assert code == 0, output[-3000:]
    assert "\x1b[" in output  # drawn by rich on a terminal, not written as plain lines
    for column in ("stream", "fetches", "records", "requests", "rate", "left"):
        assert column in output
    assert "issue_messages" in output and "20/1s" in output
    expected = expected_seconds(emulator_server, warehouse)
    assert_plausible_and_falling(etas(output, ISSUES_WINDOW), emulator_server, expected)
    assert emulator_server.emulator.token not in output


@pytest.mark.slow
def test_a_pipe_gets_periodic_lines_whose_eta_falls_as_the_budget_allows(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    # Every report may write a line: the test reads many without waiting for intervals.
    env = progress_env(emulator_server, warehouse, tmp_path, PYLON_PROGRESS_INTERVAL_SECONDS="0")
    result = run_cli(env, *ONE_WINDOW)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\x1b[" not in result.stdout
    # The window's one last line, with each stream.
    (last,) = [line for line in result.stdout.splitlines() if f"{ISSUES_WINDOW}: finished" in line]
    issues = len(rows_of(warehouse, "issues"))
    assert f"issue_messages: {issues}/{issues} fetches" in last
    assert f"issue_threads: {issues}/{issues} fetches" in last
    assert "requests at 20/1s" in last
    expected = expected_seconds(emulator_server, warehouse)
    assert_plausible_and_falling(etas(result.stdout, ISSUES_WINDOW), emulator_server, expected)
    assert emulator_server.emulator.token not in result.stdout + result.stderr


def test_a_dagster_run_writes_its_progress_to_the_run_event_log(
    pipeline: Pipeline, warehouse: PostgresWarehouse, settings: Settings
):
    resources = {
        "pylon": emulator_resource(pipeline.server, warehouse, progress_interval_seconds=0),
        "warehouse": warehouse,
    }
    assets = build_assets(settings, issue_partitions(settings.start_date)).assets
    defs = dg.Definitions(assets=assets, jobs=jobs, resources=resources)
    runs = run_sync(
        defs, pipeline.instance, start=date(2026, 2, 13), end=date(2026, 3, 14), echo=print
    )
    assert all(run.success for run in runs)
    (issues_run,) = [run for run in runs if run.label.startswith("issues ")]
    messages = [
        entry.user_message
        for entry in pipeline.instance.all_logs(issues_run.run_id)
        if entry.user_message.startswith("progress: ETA")
    ]
    issues = len(rows_of(warehouse, "issues"))
    assert f"issue_messages: {issues}/{issues} fetches" in messages[-1]
    assert "issues: " in messages[-1] and "requests at 20/1s" in messages[-1]
    shown = etas("\n".join(messages), "progress:")
    assert len(set(shown)) >= 2 and shown == sorted(shown, reverse=True), shown
    # And the reference run's log has its own lines.
    assert any(
        entry.user_message.startswith("progress: ")
        for entry in pipeline.instance.all_logs(runs[0].run_id)
    )
