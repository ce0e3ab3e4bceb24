"""Runs killed with SIGKILL mid-flight: `pylon-dagster sync` in a subprocess, stopped while it is
fetching or while a load transaction is open, leaves every stream in its old or its new state
(never a partial window), and the next run converges to the truth.

The kill point is deterministic: the emulator (served from this process) holds the Nth request
matching a route until the subprocess has been killed, so the subprocess is known to be exactly
there when the signal lands.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from pylon_dagster.assets.issue_children import FETCH_WORKERS_PER_STREAM
from pylon_dagster.cli import STOPPED_EXIT_CODE, STOPPED_MESSAGE
from pylon_dagster.jobs import issues_job, reference_job
from pylon_dagster.pylon.resource import STOPPING_MESSAGE
from pylon_dagster.sync import SYNC_RUN_TAG
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.cli_process import (
    CLI_TIMEOUT_SECONDS,
    cli_env,
    run_cli,
)
from pylon_dagster_tests.reliability.gated_sync import Gate, gated_server, gated_sync, wait_for_gate
from pylon_dagster_tests.reliability.helpers import (
    assert_equals_truth,
    assert_no_duplicates,
    full_sync,
    mutate_some,
    snapshot,
    succeeded,
    today,
)
from pylon_emulator import EmulatorServer, PylonEmulator

# Slow: each test kills a `pylon-dagster sync` subprocess mid-run, then reruns it.
pytestmark = pytest.mark.slow

RERUN_TIMEOUT_SECONDS = 300.0


@pytest.fixture
def gated_emulator(emulator: PylonEmulator, request) -> Iterator[tuple[EmulatorServer, Gate]]:
    with gated_server(emulator, *request.param) as served:
        yield served


@pytest.fixture
def emulator_server(gated_emulator) -> EmulatorServer:
    """The pipeline fixture's server is the gated one."""
    return gated_emulator[0]


# label: (request pattern, which match of the killed run to hold). Holding the 2nd child fetch
# kills the run with the children's load transaction open and the first batch already staged.
KILL_POINTS = {
    "reference_fetch": (r"GET /accounts", 1),
    "issues_search": (r"POST /issues/search", 1),
    "messages_load_open": (r"GET /issues/[^/]+/messages", 2),
    "threads_load_open": (r"GET /issues/[^/]+/threads", 2),
}


@dataclass(frozen=True)
class Interrupted:
    """A sync of yesterday and today interrupted at the gate, and what surrounds it."""

    returncode: int
    output: str
    requests_after_interrupt: int
    """Pylon requests the emulator served from the moment of the interrupt until the exit."""
    before: dict[str, dict[str, Any]]
    truth: dict[str, dict[str, Any]]
    env: dict[str, str]
    window: tuple[str, ...]

    def assert_no_partial_window(self, pipeline: Pipeline) -> None:
        for stream, rows in snapshot(pipeline).items():
            assert rows in (self.before[stream], self.truth[stream]), f"{stream}: partial window"
        assert_no_duplicates(pipeline)


def _interrupt_a_sync(
    gated_emulator,
    pipeline: Pipeline,
    home: Path,
    interrupt: Callable[[subprocess.Popen], None],
    changed_issues: int = 3,
) -> Interrupted:
    """A clean sync (old state), `changed_issues` changes in Pylon (new state), then
    `pylon-dagster sync` in a subprocess on the Dagster instance of `home` (Postgres storage: its
    runs side by side, as a user's are), interrupted once it reaches the gate. The gate lets the
    held requests go once the process is dead or has said it is stopping."""
    server, gate = gated_emulator
    assert succeeded(full_sync(pipeline))
    mutate_some(pipeline, changed_issues)
    before = snapshot(pipeline)
    truth = {stream: pipeline.truth(stream) for stream in before}
    assert truth["issues"] != before["issues"]

    env = cli_env(server, pipeline.warehouse, home.parent / "state", DAGSTER_HOME=str(home))
    window = ("--start", (today() - timedelta(days=1)).isoformat(), "--end", today().isoformat())
    with gated_sync(gate, env, *window) as (process, output):
        wait_for_gate(process, gate)
        at_interrupt = pipeline.emulator.counters().total_requests
        interrupt(process)
        output.wait_for(STOPPING_MESSAGE)
        gate.released.set()
        process.wait(timeout=CLI_TIMEOUT_SECONDS)
        after_interrupt = pipeline.emulator.counters().total_requests - at_interrupt
    return Interrupted(
        process.returncode, output.text(), after_interrupt, before, truth, env, window
    )


@pytest.mark.parametrize(
    "gated_emulator", list(KILL_POINTS.values()), ids=list(KILL_POINTS), indirect=True
)
def test_sigkill_mid_run_leaves_old_or_new_state_and_the_next_run_converges(
    gated_emulator, pipeline: Pipeline, postgres_dagster_home: Path
):
    killed = _interrupt_a_sync(
        gated_emulator, pipeline, postgres_dagster_home, subprocess.Popen.kill
    )
    assert killed.returncode == -9
    killed.assert_no_partial_window(pipeline)

    # The killed run still holds its pool slot in the instance: the rerun must release it rather
    # than wait for it forever.
    rerun = run_cli(killed.env, *killed.window, timeout=RERUN_TIMEOUT_SECONDS)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "of an earlier sync was interrupted" in rerun.stdout
    assert_equals_truth(pipeline)
    assert_no_duplicates(pipeline)


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    "gated_emulator", list(KILL_POINTS.values()), ids=list(KILL_POINTS), indirect=True
)
def test_a_stop_signal_ends_the_sync_cleanly_and_the_next_run_converges(
    gated_emulator, signal_name: str, pipeline: Pipeline, postgres_dagster_home: Path
):
    """Ctrl-C, systemd or Kubernetes stopping the sync mid-run (at each kill point: a reference
    fetch, the search, a load transaction open): the open transaction rolls back, the run shows as canceled, and the command says in one line that it stopped. (A
    stream whose load had all it needed when the signal came may commit.)

    How soon it stops is measured in work, not seconds: the gate freezes Pylon at the signal and
    thaws it once the command says it is stopping; from then on no request starts, and only
    those in flight (one per fetch thread) complete. Ignoring the signal would fetch the
    children of every changed issue, several times that."""
    changed_issues = 20
    stopped = _interrupt_a_sync(
        gated_emulator,
        pipeline,
        postgres_dagster_home,
        lambda p: p.send_signal(getattr(signal, signal_name)),
        changed_issues,
    )
    assert stopped.returncode == STOPPED_EXIT_CODE, stopped.output
    # Messages and threads, fetched side by side, and the reference streams' run beside this
    # window's, one request at a time.
    in_flight = 2 * FETCH_WORKERS_PER_STREAM + 1
    assert in_flight < changed_issues  # so the bound below tells a stop from a finished window
    assert stopped.requests_after_interrupt <= in_flight
    assert STOPPED_MESSAGE in stopped.output and "Traceback" not in stopped.output
    stopped.assert_no_partial_window(pipeline)
    with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
        (run,) = instance.get_runs(dg.RunsFilter(job_name=issues_job.name), limit=1)
        assert run.status == dg.DagsterRunStatus.CANCELED

    rerun = run_cli(stopped.env, *stopped.window, timeout=RERUN_TIMEOUT_SECONDS)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_equals_truth(pipeline)
    assert_no_duplicates(pipeline)


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    "gated_emulator",
    [(r"GET /issues/[^/]+/messages", 1, False)],
    ids=["window_held_at_its_children"],
    indirect=True,
)
def test_a_stop_signal_between_two_runs_ends_the_sync_and_no_run_starts_after_it(
    gated_emulator, signal_name: str, pipeline: Pipeline, postgres_dagster_home: Path
):
    """The signal comes as the reference streams' run has ended (its line printed) and before
    the sync's next stage: the issues window is held at its children, only they, so that stage
    cannot have begun. Sent there, a signal used to be lost: the sync went on and exited 0."""
    server, gate = gated_emulator
    assert succeeded(full_sync(pipeline))
    # More changed issues than fetches in flight: the held ones cannot be all the window needs.
    mutate_some(pipeline, 20)
    runs_before = _sync_run_ids(pipeline.instance)
    env = cli_env(
        server,
        pipeline.warehouse,
        postgres_dagster_home.parent / "state",
        DAGSTER_HOME=str(postgres_dagster_home),
    )
    window = ("--start", (today() - timedelta(days=1)).isoformat(), "--end", today().isoformat())
    with gated_sync(gate, env, *window) as (process, output):
        wait_for_gate(process, gate)
        output.wait_for("reference streams and knowledge base: ok")
        process.send_signal(getattr(signal, signal_name))
        output.wait_for(STOPPING_MESSAGE)
        gate.released.set()
        process.wait(timeout=CLI_TIMEOUT_SECONDS)

    text = output.text()
    assert process.returncode == STOPPED_EXIT_CODE, text
    assert STOPPED_MESSAGE in text
    assert "Sync finished" not in text and "Traceback" not in text
    started = [
        pipeline.instance.get_run_by_id(run_id)
        for run_id in _sync_run_ids(pipeline.instance) - runs_before
    ]
    assert sorted(run.job_name for run in started) == sorted([reference_job.name, issues_job.name])
    (window_run,) = (run for run in started if run.job_name == issues_job.name)
    assert window_run.status == dg.DagsterRunStatus.CANCELED


def _sync_run_ids(instance: dg.DagsterInstance) -> set[str]:
    return {run.run_id for run in instance.get_runs(dg.RunsFilter(tags={SYNC_RUN_TAG: "true"}))}
