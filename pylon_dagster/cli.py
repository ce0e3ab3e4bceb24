"""The `pylon-dagster` command: the emulator, the headless sync, the demo, status and the web service."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click


class _Commands(click.Group):
    """`main`'s commands, `emulator` and `app` imported only when asked for (or listed by `--help`).

    The emulator is a sibling package for the demo and the tests: importing the production code,
    this module included, never loads it. The web service's command loads its server (uvicorn),
    which no other command needs.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "app", "emulator"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulator":
            from pylon_emulator.cli import emulator

            return emulator
        if cmd_name == "app":
            from pylon_dagster.webapp.cli import app

            return app
        return super().get_command(ctx, cmd_name)


STOPPED_MESSAGE = (
    "Sync stopped on request: the load in progress was rolled back and finished windows are "
    "kept; rerun `pylon-dagster sync` to continue."
)
STOPPED_EXIT_CODE = 130


@contextmanager
def _kept_for_the_process() -> Iterator[None]:
    """What the block imports (Dagster, pandas, SQLAlchemy: some 380,000 objects) lives as long
    as the process: the garbage collector stops walking it. (`gc.freeze` sets aside every object
    alive at the end of the block: the modules, and the few that were garbage by then.)

    Otherwise the collector goes through all of it again and again while it is imported, and
    once more at exit, when the interpreter tears it down object by object: together about a
    second of a short `sync`, for memory that is only handed back to the OS anyway. Objects
    made later are collected as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, Kubernetes) stops a command like Ctrl-C, also outside Dagster's runs."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@click.group(cls=_Commands)
def main() -> None:
    """pylon-dagster: Pylon support data into Postgres with Dagster."""


@main.command()
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day of issues to sync.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of issues to sync.")
def sync(start: datetime | None, end: datetime | None) -> None:
    """Materialize every asset now (issues in runs of at most 30 days), without the daemon."""
    with _kept_for_the_process():
        from pylon_dagster.component import code_location
        from pylon_dagster.instance import dagster_home
        from pylon_dagster.progress.display import sync_display
        from pylon_dagster.settings import ConfigError, Settings, remember_default_start_date
        from pylon_dagster.sync import headless_sync, stopped_on_request

    _stop_on_sigterm()
    dagster_home()
    try:
        remember_default_start_date(os.environ)
        settings = Settings.from_env(os.environ)
        runs = headless_sync(
            code_location(os.environ),
            settings,
            start=start.date() if start else None,
            end=end.date() if end else None,
            echo=click.echo,
            display=sync_display(sys.stdout, interval_seconds=settings.progress_interval_seconds),
        )
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:  # before the runs began (from then on a signal asks them to stop)
        stopped = True
    else:
        stopped = stopped_on_request(runs)
    if stopped:
        click.echo(STOPPED_MESSAGE, err=True)
        sys.exit(STOPPED_EXIT_CODE)
    if not all(run.success for run in runs):
        click.echo(
            "Sync failed; fix the cause above and rerun: finished windows are kept.", err=True
        )
        sys.exit(1)
    click.echo(f"Sync finished: {len(runs)} runs.")


@main.command()
@click.option(
    "--issues", default=1800, show_default=True, help="Issues the emulator spreads over 6 months."
)
@click.option("--time-scale", default=30.0, show_default=True, help="Emulator minutes per minute.")
@click.option("--emulator-port", default=8765, show_default=True)
@click.option("--dagster-port", default=3000, show_default=True)
@click.option("--sync-only", is_flag=True, help="Stop after the first sync (no dagster dev).")
def demo(
    issues: int, time_scale: float, emulator_port: int, dagster_port: int, sync_only: bool
) -> None:
    """Emulator + embedded Postgres + a first sync, then `dagster dev`."""
    from pylon_dagster.demo import run_demo
    from pylon_dagster.settings import WAREHOUSE_URL_VAR, ConfigError, state_dir
    from pylon_dagster.warehouse.embedded import stop_embedded_server

    _stop_on_sigterm()
    try:
        code = run_demo(
            issues=issues,
            time_scale=time_scale,
            emulator_port=emulator_port,
            dagster_port=dagster_port,
            open_ui=not sync_only,
        )
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("Demo stopped.", err=True)
        code = STOPPED_EXIT_CODE
    finally:
        if not os.environ.get(WAREHOUSE_URL_VAR):
            # The demo's own warehouse: nothing else should keep it running.
            stop_embedded_server(state_dir(os.environ))
    sys.exit(code)


@main.command()
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output (stable keys).")
def status(json_output: bool) -> None:
    """Rows, freshness, partitions and rate limits per stream. Exit code 0 healthy, 1 stale or
    failed, 2 cannot tell (bad setting, warehouse unreachable)."""
    from pylon_dagster.status.command import show_status

    sys.exit(show_status(os.environ, json_output=json_output))


@main.command("stop-postgres")
def stop_postgres() -> None:
    """Stop the embedded Postgres of this state folder (it outlives the commands that use it)."""
    from pylon_dagster.settings import state_dir
    from pylon_dagster.warehouse.embedded import stop_embedded_server

    stopped = stop_embedded_server(state_dir(os.environ))
    click.echo("Embedded Postgres stopped." if stopped else "It was not running.")
