"""Progress in a terminal: a rich table per window of the sync, with its streams."""

from __future__ import annotations

from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from pylon_dagster.progress.lines import format_duration, format_fetches, format_rate
from pylon_dagster.progress.tracker import ProgressSnapshot

REFRESH_PER_SECOND = 4
BAR_WIDTH = 24
COLUMNS = ("stream", "progress", "fetches", "records", "requests", "rate", "left")


def window_table(label: str, snapshot: ProgressSnapshot) -> Table:
    """The window's streams under a title with its label and ETA (see README, "Progress")."""
    table = Table(
        # Text, not markup: a label such as `[2/5]` is shown as it is.
        title=Text(f"{label}  ETA {format_duration(snapshot.seconds_left)}"),
        title_justify="left",
    )
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "stream" else "right")
    for row in snapshot.streams:
        fetches = row.fetches_expected
        table.add_row(
            row.stream,
            ProgressBar(total=row.fetches_planned, completed=row.fetches_done, width=BAR_WIDTH)
            if fetches
            else "",
            format_fetches(row) if fetches else "",
            str(row.records),
            str(row.requests),
            format_rate(row.rate, row.window_seconds) if row.requests else "",
            format_duration(row.seconds_left) if fetches else "",
        )
    return table
