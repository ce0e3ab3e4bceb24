"""`pylon-dagster demo`: the emulator, the embedded Postgres, a first sync, then Dagster's UI.

Everything lives in the state folder, so a second demo reuses the warehouse and the Dagster
instance. The emulator runs time-scaled (a rate-limit "minute" lasts a couple of seconds) so the
first sync takes about a minute instead of an hour; the client paces itself to the same minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from pylon_dagster.pylon.endpoints import LATEST_API_VERSION
from pylon_dagster.settings import remember_default_start_date
from pylon_dagster.state import dagster_home
from pylon_dagster.sync import headless_sync

DEMO_SEED = 1
UI_STOP_SECONDS = 60
# The default partitions start 30 days back: generate exactly the issues they cover.
DEMO_DAYS = 30


def run_demo(
    *, issues: int, time_scale: float, emulator_port: int, dagster_port: int, open_ui: bool
) -> int:
    # The emulator is a sibling package for the demo and the tests, never loaded by production code.
    from pylon_emulator import EmulatorServer, PylonEmulator, generate

    home = dagster_home()
    remember_default_start_date()
    # Today's Pylon: the October 2026 limits, which the client also starts from.
    emulator = PylonEmulator(
        generate(DEMO_SEED, issues=issues, days=DEMO_DAYS),
        time_scale=time_scale,
        rate_limit_preset=LATEST_API_VERSION,
    )
    with EmulatorServer(emulator, port=emulator_port) as server:
        os.environ.update(
            PYLON_API_URL=server.url,
            PYLON_API_TOKEN=emulator.token,
            PYLON_RATE_LIMIT_WINDOW_SECONDS=repr(emulator.window_seconds),
        )
        click.echo(f"Pylon emulator on {server.url} ({issues} issues, time scale {time_scale})")
        # Imported only now: the code location reads the environment set just above.
        from pylon_dagster.definitions import defs

        runs = headless_sync(defs(), echo=click.echo)
        if not all(run.success for run in runs):
            return 1
        if not open_ui:
            return 0
        click.echo(
            f"Opening Dagster on http://127.0.0.1:{dagster_port} (webserver and daemon, "
            f"DAGSTER_HOME={home})"
        )
        return serve_ui(dagster_port)


def serve_ui(port: int) -> int:
    """Dagster's webserver and daemon on the code location of `workspace.yaml`, until Ctrl-C.

    The two services `dagster dev` runs, started as Dagster documents for deployments
    (`dagster dev` itself is superseded in Dagster 1.13 and says so at every start).
    """
    bin_dir = Path(sys.executable).parent
    workspace = ["-w", "workspace.yaml"]
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
