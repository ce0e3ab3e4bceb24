"""`pylon-dagster demo`: the emulator, the embedded Postgres, a first sync, then Dagster's UI.

Everything lives in the state folder, so a second demo reuses the warehouse and the Dagster
instance. The emulator runs time-scaled (a rate-limit "minute" lasts a couple of seconds) so the
first sync takes about a minute instead of an hour; the client paces itself to the same minute.

The emulator's issues span six months and, unless `PYLON_START_DATE` says otherwise, so do the
`issues` partitions. The first sync fetches only the last 30 days (one run, quick to the UI); the
older months stay missing partitions, for a backfill from the UI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import click
import dagster as dg

from pylon_dagster.catalog.endpoints import LATEST_API_VERSION
from pylon_dagster.component import code_location
from pylon_dagster.instance import dagster_home
from pylon_dagster.settings import (
    API_TOKEN_VAR,
    API_URL_VAR,
    RATE_WINDOW_VAR,
    Settings,
    remember_default_start_date,
    state_dir,
)
from pylon_dagster.sync import headless_sync

DEMO_SEED = 1
UI_STOP_SECONDS = 60
DEMO_DAYS = 182
"""How far back the emulator's issues go: about six months of daily partitions."""
FIRST_SYNC_DAYS = 30
"""Days the first sync fetches (today and the 29 before): one run, one search window."""
LOCATION_NAME = "pylon_dagster"
WORKSPACE = {
    "load_from": [
        {
            "python_module": {
                "module_name": "pylon_dagster.definitions",
                "location_name": LOCATION_NAME,
            }
        }
    ]
}
"""The code location Dagster's UI serves: the installed package, like the repository's
`workspace.yaml`, which a demo started outside the repository does not have."""


def run_demo(
    *, issues: int, time_scale: float, emulator_port: int, dagster_port: int, open_ui: bool
) -> int:
    # The emulator is a sibling package for the demo and the tests, never loaded by production code.
    from pylon_emulator import EmulatorServer, PylonEmulator, generate

    home = dagster_home()
    dataset = generate(DEMO_SEED, issues=issues, days=DEMO_DAYS)
    remember_default_start_date(os.environ, earliest=dataset.since.date())
    # Today's Pylon: the October 2026 limits, which the client also starts from.
    emulator = PylonEmulator(dataset, time_scale=time_scale, rate_limit_preset=LATEST_API_VERSION)
    with EmulatorServer(emulator, port=emulator_port) as server:
        os.environ.update(
            {
                API_URL_VAR: server.url,
                API_TOKEN_VAR: emulator.token,
                RATE_WINDOW_VAR: repr(emulator.window_seconds),
            }
        )
        click.echo(f"Pylon emulator on {server.url} ({issues} issues, time scale {time_scale})")
        # Read after the update above: the settings aim at this emulator, and so do those of
        # Dagster's UI and daemon, which inherit the environment.
        today = dataset.now.date()
        settings = Settings.from_env(os.environ, today=today)
        if not _first_sync(code_location(os.environ), settings, today):
            return 1
        if not open_ui:
            return 0
        click.echo(
            f"Opening Dagster on http://127.0.0.1:{dagster_port} (webserver and daemon, "
            f"DAGSTER_HOME={home})"
        )
        return serve_ui(dagster_port, write_workspace(state_dir(os.environ)))


def write_workspace(state: Path) -> Path:
    """`WORKSPACE` as a file in the state folder (JSON is YAML), wherever the demo runs (not in
    DAGSTER_HOME: one you set may hold a workspace of your own)."""
    path = state / "workspace.yaml"
    path.write_text(json.dumps(WORKSPACE, indent=2))
    return path


def serve_ui(port: int, workspace_file: Path) -> int:
    """Dagster's webserver and daemon on the code location of `workspace_file`, until Ctrl-C.

    The two services `dagster dev` runs, started as Dagster documents for deployments
    (`dagster dev` itself is superseded in Dagster 1.13 and says so at every start).
    """
    bin_dir = Path(sys.executable).parent
    workspace = ["-w", str(workspace_file)]
    daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", *workspace])
    webserver = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(port)]
    )
    try:
        code = webserver.wait()
    except KeyboardInterrupt:
        code = 0  # Ctrl-C reached both services too (one process group): they stop by themselves
    else:
        daemon.terminate()  # the webserver ended on its own: the daemon goes with it
    for service in (webserver, daemon):
        try:
            service.wait(timeout=UI_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            service.kill()
    return code


def _first_sync(defs: dg.Definitions, settings: Settings, today: date) -> bool:
    """The reference streams and the last `FIRST_SYNC_DAYS` days of issues; says what is left."""
    first_day = settings.start_date
    recent = max(first_day, today - timedelta(days=FIRST_SYNC_DAYS - 1))
    runs = headless_sync(defs, settings, start=recent, echo=click.echo)
    if not all(run.success for run in runs):
        return False
    if recent > first_day:
        click.echo(
            f"Issues from {first_day} to {recent - timedelta(days=1)} are not synced yet: in the "
            "UI, open pylon/issues > Partitions and materialize the missing ones (a backfill); "
            "their messages and threads follow."
        )
    return True
