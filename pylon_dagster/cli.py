"""The `pylon-dagster` command: the emulator, the headless sync, the demo and the web service."""

from __future__ import annotations

import sys
from datetime import datetime

import click


@click.group()
def main() -> None:
    """pylon-dagster: Pylon support data into Postgres with Dagster."""


@main.command()
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day of issues to sync.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of issues to sync.")
def sync(start: datetime | None, end: datetime | None) -> None:
    """Materialize every asset now (issues in runs of at most 30 days), without the daemon."""
    import dagster as dg

    from pylon_dagster.settings import ConfigError
    from pylon_dagster.state import dagster_home
    from pylon_dagster.sync import run_sync

    dagster_home()
    try:
        from pylon_dagster.definitions import defs

        with dg.DagsterInstance.get() as instance:
            runs = run_sync(
                defs,
                instance,
                start=start.date() if start else None,
                end=end.date() if end else None,
                echo=click.echo,
            )
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not all(run.success for run in runs):
        click.echo("Sync failed; fix the cause above and rerun: finished windows are kept.", err=True)
        sys.exit(1)
    click.echo(f"Sync finished: {len(runs)} runs.")


def _register_commands() -> None:
    from pylon_dagster.emulator.cli import emulator

    main.add_command(emulator)


_register_commands()
