"""The `pylon-dagster` command: the emulator, the headless sync, the demo and the web service."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """pylon-dagster: Pylon support data into Postgres with Dagster."""


def _register_commands() -> None:
    from pylon_dagster.emulator.cli import emulator

    main.add_command(emulator)


_register_commands()
