"""`pylon-dagster status` as a health check: what to print, and the exit code."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import click

from pylon_dagster.settings import ConfigError, Settings
from pylon_dagster.status.collect import StatusUnreadable, collect_status
from pylon_dagster.status.render import as_json, console, print_report
from pylon_dagster.warehouse.engine import WarehouseUnavailableError

HEALTHY = 0
UNHEALTHY = 1
"""A stream is stale, or a partition failed or is missing."""
UNKNOWN = 2
"""The status could not be read: a bad setting, the warehouse cannot be reached, a table is
locked past `STATUS_WAITS` or cannot be read."""


class StatusUnavailable(click.ClickException):
    """Printed as one `Error: ...` line; exit code `UNKNOWN`."""

    exit_code = UNKNOWN


def show_status(environ: Mapping[str, str], *, json_output: bool) -> int:
    """Print the status for the settings of `environ`; return the exit code."""
    try:
        report = collect_status(Settings.from_env(environ))
    except (ConfigError, WarehouseUnavailableError, StatusUnreadable) as error:
        raise StatusUnavailable(str(error)) from None
    if json_output:
        click.echo(as_json(report))
    else:
        print_report(report, console(terminal=sys.stdout.isatty()))
    return HEALTHY if report.healthy else UNHEALTHY
