"""`support_daily_metrics`: per UTC day and team, computed with pandas (definitions: the column
descriptions in `catalog/metric_tables.py`, and docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas.api.typing import DataFrameGroupBy

from pylon_dagster.analytics.day_scope import (
    ISSUE_TIMES,
    issues_in_days,
    open_states,
    steady_backlog,
    versions_of,
)
from pylon_dagster.analytics.states import closed_states, is_open
from pylon_dagster.warehouse.frames import ColumnKind, copy_frame, frame_records
from pylon_dagster.warehouse.sql import python_timestamp, qualified

COUNTS = ("issues_created", "issues_resolved", "open_at_end_of_day", "reopened")
ISSUE_COLUMNS: dict[str, ColumnKind] = {
    "id": "text",
    "team_id": "text",
    **dict.fromkeys(ISSUE_TIMES, "time"),
    "first_response_seconds": "number",
    "resolution_seconds": "number",
}
VERSION_COLUMNS: dict[str, ColumnKind] = {"id": "text", "updated_at": "time", "state": "category"}


@dataclass(frozen=True)
class DailyInputs:
    issues: pd.DataFrame
    """Live issues: id, team, its times and its response and resolution seconds."""
    versions: pd.DataFrame
    """`issues_history` (id, updated_at, state) of those issues."""
    closed: frozenset[str]
    steady_open: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    """Per team (the index, missing for no team): issues open at the end of every day that are
    not in `issues` (`day_scope.steady_backlog`)."""


def read_daily_inputs(
    connection: sa.Connection,
    schema: str,
    first: date,
    last: date,
    issue_ids: Collection[str] | None = None,
) -> DailyInputs:
    """The inputs of the days `first` to `last`: of the live issues that can count in them and the
    versions they need (`day_scope.py`), or of the issues named (marked deleted or not)."""
    bounds = {"start": day_start(first), "end": day_start(last) + timedelta(days=1)}
    closed = closed_states(connection, schema)
    steady = pd.Series(dtype="int64")
    if issue_ids is None:
        source = issues_in_days(schema, list(ISSUE_COLUMNS))
        params = {**bounds, "open_states": open_states(connection, schema, closed)}
        counts = connection.execute(
            sa.text(steady_backlog(schema)), {**params, "closed": sorted(closed)}
        ).all()
        steady = pd.Series(
            [count for _, count in counts], index=[team for team, _ in counts], dtype="int64"
        )
    else:
        source = (
            f"(SELECT * FROM {qualified(schema, 'issues')} WHERE id = ANY(CAST(:ids AS text[])))"
        )
        params = {"ids": sorted(issue_ids)}
    times = ", ".join(f"{python_timestamp(t)} AS {t}" for t in ISSUE_TIMES)
    issues = copy_frame(
        connection,
        f"SELECT id, team_id, {times}, first_response_seconds, resolution_seconds "
        f"FROM {source} AS i",
        params,
        ISSUE_COLUMNS,
    )
    versions = copy_frame(
        connection, versions_of(schema, source), {**bounds, **params}, VERSION_COLUMNS
    )
    # The ids as one categorical of both frames: in a backfill's millions of versions a string
    # per row costs more memory than the rest of the row.
    ids = pd.Index(issues["id"])
    issues["id"] = pd.Categorical.from_codes(np.arange(len(ids)), categories=ids)
    versions["id"] = pd.Categorical.from_codes(ids.get_indexer(versions["id"]), categories=ids)
    return DailyInputs(issues, versions, closed, steady)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_counting(
    connection: sa.Connection, schema: str, issue_ids: Collection[str], first: date, last: date
) -> list[date]:
    """The days from `first` to `last` whose metrics count any of these issues (created,
    responded to, resolved or reopened that day, or open at its end): the days to recompute when
    the issues are marked deleted or come back.

    Decided by the metrics themselves: the days on which these issues alone make a row."""
    if not issue_ids:
        return []
    ids = {"ids": sorted(issue_ids)}
    earliest_time = (
        "least(i.created_at, i.first_response_time, i.resolution_time, "
        f"(SELECT min(h.updated_at) FROM {qualified(schema, 'issues_history')} AS h "
        "WHERE h.id = i.id))"
    )
    earliest = connection.execute(
        sa.text(
            f"SELECT {python_timestamp(f'min({earliest_time})')} "
            f"FROM {qualified(schema, 'issues')} AS i WHERE i.id = ANY(CAST(:ids AS text[]))"
        ),
        ids,
    ).scalar_one()
    if earliest is None:
        return []
    first = max(first, earliest.astimezone(UTC).date())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if not days:
        return []
    inputs = read_daily_inputs(connection, schema, first, last, issue_ids)
    return [date.fromisoformat(day) for day, rows in daily_metrics(inputs, days).items() if rows]


def daily_metrics(inputs: DailyInputs, days: Sequence[date]) -> dict[str, list[dict[str, Any]]]:
    """`{day: rows}`: one row per team counted that day (see the table's description).

    All days in one pass: every event gets its UTC day, then one group-by (day, team)."""
    starts = pd.DatetimeIndex(sorted({day_start(day) for day in days}))
    issues = inputs.issues
    versions = inputs.versions.sort_values(["id", "updated_at"], kind="stable")
    previous = versions.groupby("id")["state"].shift()
    # The first version of an issue has no previous state (NaN), which is not a closed one.
    reopenings = versions[is_open(versions["state"], inputs.closed) & previous.isin(inputs.closed)]
    reopened = _on_days(reopenings, "updated_at", starts).drop_duplicates(["day", "id"])
    reopened["team_id"] = reopened["id"].map(issues.set_index("id")["team_id"])
    # First: the largest frames of a backfill, freed before the per-event ones are made.
    open_at_end_of_day = _open_at_end_of_day(inputs, starts)
    responded = _by_day_and_team(_on_days(issues, "first_response_time", starts))
    resolved = _by_day_and_team(_on_days(issues, "resolution_time", starts))
    response = responded["first_response_seconds"]
    resolution = resolved["resolution_seconds"]
    metrics = pd.concat(
        {
            "issues_created": _by_day_and_team(_on_days(issues, "created_at", starts)).size(),
            "issues_resolved": resolved.size(),
            "open_at_end_of_day": open_at_end_of_day,
            "reopened": _by_day_and_team(reopened).size(),
            "median_first_response_seconds": response.median(),
            "p90_first_response_seconds": response.quantile(0.9),
            "median_resolution_seconds": resolution.median(),
            "p90_resolution_seconds": resolution.quantile(0.9),
        },
        axis=1,
    )
    counts = list(COUNTS)
    metrics[counts] = metrics[counts].fillna(0).astype("int64")
    counted = (metrics[counts] > 0).any(axis=1) | metrics.drop(columns=counts).notna().any(axis=1)
    metrics = metrics[counted].reset_index()
    day_names = np.array([day.isoformat() for day in starts.date], dtype=object)
    day = pd.Series(day_names[metrics.pop("day").to_numpy(dtype="int64")], index=metrics.index)
    metrics.insert(0, "id", day + "/" + metrics["team_id"].astype(object).fillna(""))
    metrics.insert(1, "day", day)
    metrics = metrics.sort_values("id", kind="stable")
    rows: dict[str, list[dict[str, Any]]] = {d.isoformat(): [] for d in days}
    for row in frame_records(metrics):
        rows[row["day"]].append(row)
    return rows


def _by_day_and_team(frame: pd.DataFrame) -> DataFrameGroupBy:
    """Issues without a team are a group of their own."""
    return frame.groupby(["day", "team_id"], dropna=False)


def _on_days(frame: pd.DataFrame, column: str, starts: pd.DatetimeIndex) -> pd.DataFrame:
    """The rows whose `column` falls on one of the days starting at `starts`, with that `day`
    (its position in `starts`)."""
    day = starts.get_indexer(frame[column].dt.floor("D"))
    return frame[day >= 0].assign(day=day[day >= 0])


def _open_at_end_of_day(inputs: DailyInputs, starts: pd.DatetimeIndex) -> pd.Series:
    """Per (day, team), the issues created before the day's end and open at it.

    Each issue is open over intervals (after, until] of end times: created before the end, and
    either its last known state (the newest non-empty one of its versions before the end) is open,
    or, with no version before the end, not resolved before it. An interval counts on the days
    whose end lies in it, added up per team from the first such day to the last with a running
    sum over the sorted days."""
    ends = starts + pd.Timedelta(days=1)
    intervals = _open_intervals(inputs)
    first_day = ends.searchsorted(intervals["after"], side="right")
    until = intervals["until"]
    past_last_day = np.where(until.isna(), len(ends), ends.searchsorted(until, side="right"))
    counted = first_day < past_last_day
    steady = inputs.steady_open
    teams, team_ids = pd.factorize(
        np.concatenate(
            [intervals["team_id"].to_numpy(dtype=object), steady.index.to_numpy(object)]
        ),
        use_na_sentinel=False,
    )
    steps = np.zeros((len(team_ids), len(ends) + 1), dtype="int64")
    of_intervals, of_steady = teams[: len(intervals)], teams[len(intervals) :]
    np.add.at(steps, (of_intervals[counted], first_day[counted]), 1)
    np.add.at(steps, (of_intervals[counted], past_last_day[counted]), -1)
    # Open from the first day on, to the last.
    np.add.at(steps, (of_steady, 0), steady.to_numpy())
    open_counts = pd.DataFrame(steps[:, :-1].cumsum(axis=1))
    open_counts["team_id"] = team_ids
    long = open_counts.melt(id_vars="team_id", var_name="day", value_name="open")
    long = long[long["open"] > 0]
    return _by_day_and_team(long)["open"].sum()


def _open_intervals(inputs: DailyInputs) -> pd.DataFrame:
    """(team_id, after, until) for every interval of end times at which an issue is open; an
    empty `until` for an interval without end."""
    issues = inputs.issues[inputs.issues["created_at"].notna()]
    versions = inputs.versions[inputs.versions["updated_at"].notna()]
    versions = versions[versions["id"].isin(issues["id"])]
    versions = versions.sort_values(["id", "updated_at"], kind="stable")
    by_issue = versions.groupby("id")
    # An empty state leaves the last known one in place.
    known_state = by_issue["state"].ffill()
    open_after = is_open(known_state, inputs.closed)
    opened = versions[open_after]
    # Each interval gets its issue's team and creation by looking the issue up, not by merging
    # every interval with the issues (a backfill's largest frame).
    of_issue = issues.set_index("id")[["team_id", "created_at"]].reindex(opened["id"])
    by_version = pd.DataFrame(
        {
            "team_id": of_issue["team_id"].array,
            "created_at": of_issue["created_at"].array,
            "after": opened["updated_at"].array,
            "until": by_issue["updated_at"].shift(-1)[open_after].array,
        }
    )
    first_version = by_issue["updated_at"].first().reindex(issues["id"]).set_axis(issues.index)
    resolution = issues["resolution_time"]
    by_resolution = pd.DataFrame(
        {
            "team_id": issues["team_id"],
            "created_at": issues["created_at"],
            "after": issues["created_at"],
            "until": first_version.where(
                first_version.notna() & ~(resolution < first_version), resolution
            ),
        }
    )
    intervals = pd.concat([by_version, by_resolution], ignore_index=True)
    after, created = intervals["after"], intervals["created_at"]
    intervals["after"] = after.where(after > created, created)
    return intervals[["team_id", "after", "until"]]
