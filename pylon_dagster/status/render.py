"""`StatusReport` for people (rich tables; plain text when stdout is not a terminal) or JSON."""

from __future__ import annotations

import json
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pylon_dagster.status.report import StatusReport, StreamState, iso

NOT_A_TERMINAL_WIDTH = 200
"""Columns for a pipe or a file: wide enough that no cell wraps."""


def console(*, terminal: bool) -> Console:
    """Markup off: endpoints such as `GET /issues/{id}/messages` are shown as they are."""
    return Console(markup=False, highlight=False, width=None if terminal else NOT_A_TERMINAL_WIDTH)


def as_json(report: StatusReport) -> str:
    return json.dumps(report.as_json(), indent=2)


def print_report(report: StatusReport, out: Console) -> None:
    out.print(f"Checked {iso(report.checked_at)}")
    out.print(f"Warehouse: {report.warehouse} (schema {report.schema})")
    out.print(f"Dagster instance: {report.dagster_home}")
    out.print(_streams_table(report))
    if report.rate_limits:
        out.print(_rate_limits_table(report))
    else:
        out.print("Rate limits: none learned yet (no sync has called Pylon with this warehouse).")
    if report.healthy:
        out.print(
            Text(
                "Healthy: every stream has its table, is fresh and no partition failed.",
                style="green",
            )
        )
        return
    out.print(Text(f"Unhealthy: {len(report.problems)} problem(s)", style="bold red"))
    for problem in report.problems:
        out.print(f"- {problem}")


def _when(moment: datetime | None) -> str:
    return iso(moment) or "never"


def _streams_table(report: StatusReport) -> Table:
    estimated = any(stream.rows_estimated for stream in report.streams)
    table = Table(
        title="Streams",
        caption="~ rows: Postgres's estimate of a large table" if estimated else None,
    )
    for heading, justify in (
        ("stream", "left"),
        ("rows", "right"),
        ("newest updated_at", "left"),
        ("last materialized", "left"),
        ("partitions", "left"),
        ("status", "left"),
    ):
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for stream in report.streams:
        table.add_row(
            stream.stream,
            _rows(stream),
            _when(stream.newest_updated_at) if stream.has_updated_at else "-",
            _when(stream.last_materialization),
            _partitions(stream),
            _status(stream),
        )
    return table


def _rows(stream: StreamState) -> str:
    if not stream.table_exists:
        return "no table"
    return f"~{stream.rows:,}" if stream.rows_estimated else f"{stream.rows:,}"


def _partitions(stream: StreamState) -> str:
    partitions = stream.partitions
    if partitions is None:
        return "-"
    text = f"{partitions.materialized}/{partitions.total} materialized"
    if partitions.missing.count:
        text += f", missing {partitions.missing.describe()}"
    if partitions.failed.count:
        text += f", failed {partitions.failed.describe()}"
    if partitions.in_progress:
        text += f", {partitions.in_progress} in progress"
    return text


def _status(stream: StreamState) -> Text:
    if not stream.problems:
        return Text("ok", style="green")
    if stream.partitions and stream.partitions.failed.count:
        return Text("FAILED", style="bold red")
    if not stream.table_exists or stream.children_missing:
        return Text("MISSING", style="bold red")
    return Text("STALE", style="bold red")


def _rate_limits_table(report: StatusReport) -> Table:
    table = Table(title="Rate limits (shared budget)")
    for heading in (
        "API host",
        "endpoint",
        "rate",
        "learned from",
        "429s last day",
        "paused until",
    ):
        table.add_column(heading)
    for limit in report.rate_limits:
        table.add_row(
            limit.api_host,
            limit.endpoint,
            limit.describe_rate(),
            limit.source,
            str(limit.rate_limited_last_day),
            iso(limit.paused_until) or "-",
        )
    return table
