"""`pylon-dagster status` through the real entry point, against a warehouse a real sync filled.

Each test runs the command in a subprocess, as a health check would: the table (stdout is a pipe,
so plain text), `--json`, and the exit code: 0 healthy, 1 stale or failed, 2 cannot tell.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.endpoints import LATEST_API_VERSION
from pylon_dagster.catalog.streams import STREAMS
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.days import iso_days
from pylon_dagster_tests.fixtures.emulator import make_emulator
from pylon_dagster_tests.reliability.cli_process import (
    cli_env,
    closed_port,
    run_cli,
    run_command,
)
from pylon_emulator import EmulatorServer

# Slow: each test runs `pylon-dagster sync` or `status` in a subprocess.
pytestmark = pytest.mark.slow

SYNC_DAYS = 3
WAREHOUSE_PASSWORD = "status-pa55word"
# What Dagster prints on its own when DAGSTER_HOME has no dagster.yaml, or telemetry is on.
DAGSTER_NOTICES = ("No dagster instance configuration file", "Telemetry:", "Welcome to Dagster")


@pytest.fixture
def live_server() -> Iterator[EmulatorServer]:
    """An emulator whose issues were updated in the last few days, like a live organization, with
    the limits the client starts from (so only the faults a test sets cause 429s)."""
    emulator = make_emulator(
        issues=30, now=datetime.now(UTC), days=SYNC_DAYS, rate_limit_preset=LATEST_API_VERSION
    )
    with EmulatorServer(emulator) as server:
        yield server


@pytest.fixture
def env(
    live_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
) -> dict[str, str]:
    """A user's environment: partitions from two days ago, a DAGSTER_HOME with no dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    first_day = datetime.now(UTC).date() - timedelta(days=SYNC_DAYS - 1)
    return cli_env(
        live_server,
        warehouse,
        tmp_path / "state",
        PYLON_START_DATE=first_day.isoformat(),
        DAGSTER_HOME=str(home),
    )


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_command(env, "status", *args)


def status_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = status(env, "--json")
    assert result.stderr == "", result.stderr
    return result.returncode, json.loads(result.stdout)


def by_stream(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["stream"]: entry for entry in report["streams"]}


# Each command reads today's date when it runs, seconds after the `env` fixture did: the days
# expected are read from the commands' own output (a midnight may pass in between).


def partition_days(env: dict[str, str], last: date) -> list[str]:
    """The daily partitions from the environment's start date through `last`."""
    return iso_days(date.fromisoformat(env["PYLON_START_DATE"]), last)


def checked_on(checked_at: str) -> date:
    """The day a status report was made (its partitions end with that day's)."""
    checked = parse_timestamp(checked_at)
    assert checked is not None
    return checked.date()


def table_checked_at(table: str) -> str:
    """When a status table was made, from its `Checked ...` line."""
    found = re.search(r"^Checked (\S+)$", table, re.MULTILINE)
    assert found, table
    return found[1]


def synced_days(output: str) -> list[str]:
    """The days of the sync's `issues FIRST .. LAST (N days)` run."""
    found = re.search(r"^issues (\S+) \.\. (\S+) \(", output, re.MULTILINE)
    assert found, output
    return iso_days(date.fromisoformat(found[1]), date.fromisoformat(found[2]))


def table_rows(warehouse: PostgresWarehouse, table: str) -> int:
    with warehouse.engine.connect() as connection:
        query = f'SELECT count(*) FROM "{warehouse.schema_name}"."{table}"'
        return connection.execute(sa.text(query)).scalar_one()


def test_a_fresh_warehouse_is_stale_everywhere(env: dict[str, str]):
    table = status(env)

    assert table.returncode == 1, table.stdout + table.stderr
    for name in STREAMS:
        assert name in table.stdout
    assert "MISSING" in table.stdout and "never materialized" in table.stdout
    assert "no table in the warehouse" in table.stdout
    overdue = (
        len(partition_days(env, checked_on(table_checked_at(table.stdout)))) - 1
    )  # not today's yet
    assert f"missing partitions: {overdue} " in table.stdout
    assert "Rate limits: none learned yet" in table.stdout

    code, report = status_json(env)
    assert code == 1 and report["healthy"] is False
    streams = by_stream(report)
    assert set(streams) == set(STREAMS)
    assert all(s["stale"] and s["last_materialization"] is None for s in streams.values())
    assert all(s["rows"] == 0 and not s["table_exists"] for s in streams.values())
    issues = streams["issues"]["partitions"]
    days = len(partition_days(env, checked_on(report["checked_at"])))
    assert issues["total"] == days and issues["materialized"] == 0
    assert issues["missing"]["count"] == days and issues["failed"]["count"] == 0
    assert report["rate_limits"] == []


def test_after_a_real_sync_every_stream_is_fresh(
    env: dict[str, str], live_server: EmulatorServer, warehouse: PostgresWarehouse
):
    live_server.emulator.set_faults(rate_limit_storm=1, storm_retry_after=0.05)
    synced = run_cli(env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    synced_range = synced_days(synced.stdout)
    # From the start date through today (the sync's): at least the days the fixture counted.
    assert synced_range[0] == env["PYLON_START_DATE"] and len(synced_range) >= SYNC_DAYS

    table = status(env)

    assert table.returncode == 0, table.stdout + table.stderr
    assert "Healthy" in table.stdout and "STALE" not in table.stdout
    code, report = status_json(env)
    assert code == 0 and report["healthy"] is True and report["problems"] == []
    streams = by_stream(report)
    for name, entry in streams.items():
        assert entry["rows"] == table_rows(warehouse, name), name
        assert entry["rows_estimated"] is False, name  # small tables are counted
        assert entry["last_materialization"] is not None and not entry["stale"], name
    assert streams["issues"]["rows"] > 0
    assert streams["issues"]["newest_updated_at"] is not None
    # Every day is materialized, but today's if the day changed since the sync.
    days = partition_days(env, checked_on(report["checked_at"]))
    unsynced = [day for day in days if day > synced_range[-1]]
    for name in ("issues", "issue_messages", "issue_threads"):
        partitions = streams[name]["partitions"]
        assert partitions["total"] == len(days), name
        assert partitions["materialized"] == len(days) - len(unsynced), name
        assert partitions["missing"]["count"] == len(unsynced), name
        assert partitions["failed"]["count"] == 0, name
    limits = {limit["endpoint"]: limit for limit in report["rate_limits"]}
    assert "POST /issues/search" in limits
    assert all(limit["rate"] > 0 and limit["source"] for limit in limits.values())
    # The storm's one 429 is recorded with its time, so it counts as the last day's.
    assert sum(limit["rate_limited_last_day"] for limit in limits.values()) == 1


def test_failed_partitions_make_status_fail_with_their_days(
    env: dict[str, str], live_server: EmulatorServer
):
    """Pylon rejects the search window, so the sync's issues run fails: its days are FAILED."""
    live_server.emulator.set_faults(search_window_cap_days=1)
    failed = run_cli(env)
    assert failed.returncode == 1, failed.stdout + failed.stderr

    table = status(env)

    assert table.returncode == 1
    assert "FAILED" in table.stdout
    code, report = status_json(env)
    assert code == 1
    days = synced_days(failed.stdout)
    assert days[0] == env["PYLON_START_DATE"] and len(days) >= SYNC_DAYS
    issues = by_stream(report)["issues"]["partitions"]
    assert issues["failed"] == {"count": len(days), "ranges": [[days[0], days[-1]]]}
    problem = f"issues: failed partitions: {len(days)} ({days[0]}..{days[-1]})"
    assert problem in report["problems"]


def test_sync_and_status_print_nothing_from_dagster_and_turn_telemetry_off(
    env: dict[str, str],
):
    synced = run_cli(env)
    shown = status(env)

    for result in (synced, shown):
        output = result.stdout + result.stderr
        for notice in DAGSTER_NOTICES:
            assert notice not in output, output
    assert synced.returncode == 0 and shown.returncode == 0
    telemetry = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dagster; print(dagster.DagsterInstance.get().telemetry_enabled)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert telemetry.stdout.strip() == "False", telemetry.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "PYLON_WAREHOUSE_URL": (
                    f"postgresql://u:{WAREHOUSE_PASSWORD}@127.0.0.1:{closed_port()}/db"
                )
            },
            "Error: Cannot connect to the warehouse at postgresql+psycopg://u:***@127.0.0.1:",
        ),
        (
            {"PYLON_ISSUES_SCHEDULE_CRON": "every day"},
            "Error: PYLON_ISSUES_SCHEDULE_CRON='every day' is not a cron schedule",
        ),
        (
            {"PYLON_START_DATE": "yesterday"},
            "Error: PYLON_START_DATE='yesterday' is not a date",
        ),
    ],
)
def test_status_that_cannot_be_read_is_one_error_line_and_exit_code_2(
    env: dict[str, str], overrides: dict[str, str], message: str
):
    result = status({**env, **overrides}, "--json")

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert WAREHOUSE_PASSWORD not in result.stderr


def test_a_schema_without_the_tables_is_unhealthy(env: dict[str, str]):
    """A synced instance, read with another schema (a typo in PYLON_WAREHOUSE_SCHEMA): Dagster's
    history says fresh, the warehouse has no table. It used to say Healthy."""
    synced = run_cli(env)
    assert synced.returncode == 0, synced.stdout + synced.stderr

    code, report = status_json({**env, "PYLON_WAREHOUSE_SCHEMA": "nosuch"})

    assert code == 1 and report["healthy"] is False
    for name, entry in by_stream(report).items():
        assert entry["table_exists"] is False, name
        assert (
            f"{name}: no table in the warehouse: a sync creates and fills it" in report["problems"]
        )


def test_emptied_child_tables_are_reported_then_refilled_by_a_sync(
    env: dict[str, str], warehouse: PostgresWarehouse
):
    """The tables emptied by hand: the fetch bookkeeping claims children that are gone, so
    `status` says so and the next sync fetches them again (it used to skip them for good)."""
    synced = run_cli(env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    children = {name: table_rows(warehouse, name) for name in ("issue_messages", "issue_threads")}
    assert all(children.values()), children
    with warehouse.engine.begin() as connection:
        tables = ", ".join(
            f'"{warehouse.schema_name}"."{name}"'
            for name in ("issues", "issue_messages", "issue_threads")
        )
        connection.execute(sa.text(f"TRUNCATE {tables}"))

    code, report = status_json(env)
    assert code == 1
    streams = by_stream(report)
    for name in children:
        assert streams[name]["children_missing"] > 0, name
        assert any(p.startswith(f"{name}: children missing for ") for p in report["problems"])

    resynced = run_cli(env)
    assert resynced.returncode == 0, resynced.stdout + resynced.stderr
    assert {name: table_rows(warehouse, name) for name in children} == children
    code, report = status_json(env)
    assert code == 0, report["problems"]
    assert all(by_stream(report)[name]["children_missing"] == 0 for name in children)


@pytest.fixture
def synced_env(env: dict[str, str]) -> dict[str, str]:
    synced = run_cli(env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    return env


def test_a_table_locked_by_another_session_is_exit_code_2_in_one_line(
    synced_env: dict[str, str], warehouse: PostgresWarehouse
):
    """A migration or a stuck session holds `issues`: `status` used to hang with no output."""
    issues = f'"{warehouse.schema_name}"."issues"'
    with warehouse.engine.connect() as holder:
        holder.execute(sa.text(f"LOCK TABLE {issues} IN ACCESS EXCLUSIVE MODE"))
        result = status(synced_env, "--json")
        holder.rollback()

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: the table {issues} is locked by another session")


def test_a_table_that_cannot_be_read_is_exit_code_2_in_one_line(
    synced_env: dict[str, str], warehouse: PostgresWarehouse
):
    """`issues` with other columns than the project made (it used to be an 85-line traceback
    and exit 1)."""
    issues = f'"{warehouse.schema_name}"."issues"'
    with warehouse.engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE {issues} RENAME COLUMN updated_at TO changed"))

    result = status(synced_env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: Cannot read the table {issues} (UndefinedColumn: ")
