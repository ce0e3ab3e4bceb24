"""A short warehouse outage in the middle of `pylon-dagster sync` (a subprocess, its warehouse
behind a proxy the test cuts): the assets and their checks retry, and the sync ends equal to
Pylon. The outage starts while the issues window fetches its children, so the `issues` check,
which runs next, meets it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster_tests.automation.dagster_dev import wait_for
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_dagster_tests.reliability.cli_process import (
    CLI_TIMEOUT_SECONDS,
    cli_env,
)
from pylon_dagster_tests.reliability.gated_sync import (
    GATE_DEADLINE_SECONDS,
    Gate,
    gated_server,
    gated_sync,
    wait_for_gate,
)
from pylon_dagster_tests.reliability.helpers import assert_no_duplicates
from pylon_dagster_tests.reliability.outage import WarehouseSwitch
from pylon_emulator import EmulatorServer, PylonEmulator

# Slow: `pylon-dagster sync` in a subprocess, waiting out the retry policy's first delay.
pytestmark = pytest.mark.slow

WINDOW = ("--start", "2026-03-10", "--end", "2026-03-14")
ISSUES_CHECK = "pylon__issues_primary_key_unique"
FIRST_CHILD_FETCH = (r"GET /issues/[^/]+/messages", 1)


@pytest.fixture
def gated_emulator(emulator: PylonEmulator) -> Iterator[tuple[EmulatorServer, Gate]]:
    with gated_server(emulator, *FIRST_CHILD_FETCH) as served:
        yield served


@pytest.fixture
def emulator_server(gated_emulator) -> EmulatorServer:
    """The pipeline fixture's server is the gated one."""
    return gated_emulator[0]


def _check_attempt_ended(instance: dg.DagsterInstance) -> dg.EventLogEntry | None:
    """The first failed or retried attempt of the `issues` check, if one was recorded."""
    ended = {dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_FAILURE}
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=ended):
            if entry.step_key == ISSUES_CHECK:
                return entry
    return None


def test_a_short_warehouse_outage_is_ridden_out_by_the_assets_and_their_checks(
    gated_emulator: tuple[EmulatorServer, Gate],
    pipeline: Pipeline,
    embedded_postgres: EmbeddedPostgres,
    postgres_dagster_home: Path,
    tmp_path: Path,
):
    server, gate = gated_emulator
    with WarehouseSwitch(sa.make_url(embedded_postgres.url)) as switch:
        env = cli_env(
            server,
            pipeline.warehouse,
            tmp_path / "state",
            DAGSTER_HOME=str(postgres_dagster_home),
            PYLON_WAREHOUSE_URL=switch.url.render_as_string(hide_password=False),
        )
        with gated_sync(gate, env, *WINDOW) as (process, output):
            wait_for_gate(process, gate)
            switch.cut()
            gate.released.set()
            with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
                attempt = wait_for(
                    lambda: _check_attempt_ended(instance),
                    timeout=GATE_DEADLINE_SECONDS,
                    what=f"an attempt of {ISSUES_CHECK} during the outage",
                )
            switch.restore()
            process.wait(timeout=CLI_TIMEOUT_SECONDS)
    text = output.text()

    event = attempt.dagster_event
    assert event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY, text
    error = event.step_retry_data.error
    reason = error.cause.message if error.cause else error.message
    assert "WarehouseUnavailableError: Cannot connect to the warehouse at" in reason, reason
    assert process.returncode == 0, text
    assert "Sync finished" in text
    assert pipeline.rows("issue_messages")  # the children retried after the outage
    assert_no_duplicates(pipeline)
