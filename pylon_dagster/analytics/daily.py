"""`support_daily_metrics`: per UTC day and team, computed with pandas (definitions: the column
descriptions in `analytics/tables.py`, and docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from pandas.api.typing import DataFrameGroupBy

from pylon_dagster.analytics.states import closed_states, is_open
from pylon_dagster.warehouse.frames import frame_records, read_frame
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import python_timestamp, qualified

COUNTS = ("issues_created", "issues_resolved", "open_at_end_of_day", "reopened")
ISSUE_TIMES = ("created_at", "first_response_time", "resolution_time")


@dataclass(frozen=True)
class DailyInputs:
    issues: pd.DataFrame
    """Every live issue: id, team, its times and its response and resolution seconds."""
    versions: pd.DataFrame
    """`issues_history` (id, updated_at, state) of live issues: the versions inside the days, and
    each issue's newest version before them."""
    closed: frozenset[str]


def read_daily_inputs(
    connection: sa.Connection,
    schema: str,
    first: date,
    last: date,
    issue_ids: Collection[str] | None = None,
) -> DailyInputs:
    """The inputs of the days `first` to `last`: of every live issue, or of the issues named
    (marked deleted or not)."""
    start, end = day_start(first), day_start(last) + timedelta(days=1)
    source = (
        live_issues(schema)
        if issue_ids is None
        else f"(SELECT * FROM {qualified(schema, 'issues')} WHERE id = ANY(CAST(:ids AS text[])))"
    )
    ids = {"ids": sorted(issue_ids or ())}
    times = ", ".join(f"{python_timestamp(t)} AS {t}" for t in ISSUE_TIMES)
    issues = read_frame(
        connection,
        f"SELECT id, team_id, {times}, first_response_seconds, resolution_seconds "
        f"FROM {source} AS i",
        ids,
    )
    history = (
        f"{qualified(schema, 'issues_history')} AS h WHERE h.id IN (SELECT id FROM {source} i)"
    )
    versions = read_frame(
        connection,
        f"SELECT h.id, h.updated_at, h.state FROM {history} "
        "AND h.updated_at >= :start AND h.updated_at < :end "
        "UNION ALL "
        f"(SELECT DISTINCT ON (h.id) h.id, h.updated_at, h.state FROM {history} "
        "AND h.updated_at < :start ORDER BY h.id, h.updated_at DESC)",
        {"start": start, "end": end, **ids},
    )
    for frame, columns in ((issues, ISSUE_TIMES), (versions, ("updated_at",))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    # Typed even when no row came back (an empty result's columns are untyped).
    seconds = ["first_response_seconds", "resolution_seconds"]
    issues[seconds] = issues[seconds].astype("float64")
    return DailyInputs(issues, versions, closed_states(connection, schema))


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
    """`{day: rows}`: one row per team counted that day (see the table's description)."""
    issues = inputs.issues
    versions = inputs.versions.sort_values(["id", "updated_at"], kind="stable")
    previous = versions.groupby("id")["state"].shift()
    # The first version of an issue has no previous state (NaN), which is not a closed one.
    reopenings = versions[is_open(versions["state"], inputs.closed) & previous.isin(inputs.closed)]
    team_of = issues.set_index("id")["team_id"]
    return {
        day.isoformat(): _day_rows(issues, versions, reopenings, team_of, inputs.closed, day)
        for day in days
    }


def _day_rows(
    issues: pd.DataFrame,
    versions: pd.DataFrame,
    reopenings: pd.DataFrame,
    team_of: pd.Series,
    closed: frozenset[str],
    day: date,
) -> list[dict[str, Any]]:
    start = pd.Timestamp(day_start(day))
    end = start + pd.Timedelta(days=1)

    def on_day(times: pd.Series) -> pd.Series:
        return (times >= start) & (times < end)

    def by_team(frame: pd.DataFrame) -> DataFrameGroupBy:
        """Issues without a team are a group of their own."""
        return frame.groupby("team_id", dropna=False)

    existing = issues[issues["created_at"] < end]
    known = versions[versions["updated_at"] < end].groupby("id")["state"].last()
    has_version = existing["id"].isin(known.index)
    open_by_version = is_open(existing["id"].map(known), closed)
    resolution = existing["resolution_time"]
    open_by_resolution = resolution.isna() | (resolution >= end)
    still_open = existing[open_by_version.where(has_version, open_by_resolution)]

    reopened_ids = reopenings.loc[on_day(reopenings["updated_at"]), "id"].drop_duplicates()
    reopened = pd.DataFrame({"team_id": reopened_ids.map(team_of)})
    responded = issues[on_day(issues["first_response_time"])]
    resolved = issues[on_day(issues["resolution_time"])]
    response, resolution_seconds = (
        by_team(responded)["first_response_seconds"],
        by_team(resolved)["resolution_seconds"],
    )
    metrics = pd.concat(
        {
            "issues_created": by_team(issues[on_day(issues["created_at"])]).size(),
            "issues_resolved": by_team(resolved).size(),
            "open_at_end_of_day": by_team(still_open).size(),
            "reopened": by_team(reopened).size(),
            "median_first_response_seconds": response.median(),
            "p90_first_response_seconds": response.quantile(0.9),
            "median_resolution_seconds": resolution_seconds.median(),
            "p90_resolution_seconds": resolution_seconds.quantile(0.9),
        },
        axis=1,
    )
    counts = list(COUNTS)
    metrics[counts] = metrics[counts].fillna(0).astype("int64")
    counted = (metrics[counts] > 0).any(axis=1) | metrics.drop(columns=counts).notna().any(axis=1)
    metrics = metrics[counted]
    metrics = metrics.rename_axis("team_id").reset_index()
    team_part = metrics["team_id"].fillna("")
    metrics.insert(0, "id", day.isoformat() + "/" + team_part)
    metrics.insert(1, "day", day.isoformat())
    return frame_records(metrics)
