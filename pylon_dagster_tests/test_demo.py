"""The README's first command: the demo's emulator, warehouse and first sync, end to end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.demo import DEMO_DAYS, FIRST_SYNC_DAYS, LOCATION_NAME
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.automation.dagster_dev import DagsterDev, free_port, wait_for

COMMAND = [str(Path(sys.executable).with_name("pylon-dagster")), "demo", "--issues", "60"]
# What Dagster prints unasked: no instance file, telemetry banner, a dagster.yaml it ignores, and
# superseded commands or APIs.
DAGSTER_NOTICES = (
    "No dagster instance configuration file",
    "Telemetry:",
    "will not be used to configure Dagster",
    "superseded",
)


def assert_no_dagster_notice(output: str) -> None:
    for notice in DAGSTER_NOTICES:
        assert notice not in output, output


def _demo_env(folder: Path, *unset: str) -> dict[str, str]:
    """A fresh folder outside the repository (no `workspace.yaml`: the demo brings its own), and
    the environment of a user who set nothing."""
    env = {**os.environ, "PYLON_DAGSTER_STATE": str(folder / ".state")}
    for name in ("PYLON_START_DATE", "DAGSTER_HOME", "PYLON_API_URL", "PYLON_API_TOKEN", *unset):
        env.pop(name, None)
    return env


@pytest.mark.slow
def test_the_demo_syncs_the_emulator_into_the_warehouse(
    tmp_path: Path, warehouse: PostgresWarehouse
):
    """Partitions cover the emulator's whole dataset; the first sync fetches its last 30 days and
    says which older days are left for a backfill from the UI."""
    env = _demo_env(tmp_path)
    today_before = datetime.now(UTC).date()
    result = subprocess.run(
        [*COMMAND, "--sync-only", "--emulator-port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "issues " in result.stdout and "FAILED" not in result.stdout
    assert_no_dagster_notice(result.stdout + result.stderr)
    with warehouse.engine.connect() as connection:
        counts = {
            table: connection.execute(
                sa.text(f'SELECT count(*) FROM "{warehouse.schema_name}"."{table}"')
            ).scalar_one()
            for table in ("issues", "issue_messages", "accounts", "knowledge_base_articles")
        }
        oldest_synced = connection.execute(
            sa.text(
                f"SELECT min(updated_at AT TIME ZONE 'UTC') FROM \"{warehouse.schema_name}\".issues"
            )
        ).scalar_one()
    assert all(counts.values()), counts
    assert (tmp_path / ".state" / "dagster" / "dagster.yaml").exists()
    todays = {today_before, datetime.now(UTC).date()}  # the run may cross a midnight
    first_day = date.fromisoformat((tmp_path / ".state" / "default_start_date").read_text())
    assert first_day in {today - timedelta(days=DEMO_DAYS) for today in todays}
    recent = date.fromisoformat(re.search(r"issues (\S+) \.\. ", result.stdout).group(1))
    assert recent in {today - timedelta(days=FIRST_SYNC_DAYS - 1) for today in todays}
    assert oldest_synced.date() >= recent
    assert f"Issues from {first_day} to {recent - timedelta(days=1)} are not synced yet" in (
        result.stdout
    )


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_everything_it_started(tmp_path: Path):
    """Started outside the repository, the demo's UI serves its code location; Ctrl-C in the
    terminal (SIGINT to the process group) then ends the demo without a traceback, and its
    embedded Postgres is stopped, not left running."""
    env = _demo_env(tmp_path, "PYLON_WAREHOUSE_URL", "PYLON_WAREHOUSE_SCHEMA")
    port, log = free_port(), tmp_path / "demo.log"
    pid_file = tmp_path / ".state" / "postgres" / "postmaster.pid"
    with log.open("w") as sink:
        demo = subprocess.Popen(
            [*COMMAND, "--emulator-port", "0", "--dagster-port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            ui = DagsterDev(demo, port, log)
            wait_for(
                lambda: ui.location_loaded(LOCATION_NAME),
                timeout=300,
                what="the demo's code location in Dagster's UI",
            )
            assert pid_file.exists()
            os.killpg(demo.pid, signal.SIGINT)
            demo.wait(timeout=120)
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    output = log.read_text()
    assert demo.returncode == 0, output
    assert "Traceback" not in output, output
    assert_no_dagster_notice(output)
    assert not pid_file.exists(), "the demo left its embedded Postgres running"
