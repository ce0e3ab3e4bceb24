"""`account_support_summary`: per account, what the issue sidebar shows, computed with pandas
(definitions: the column descriptions in `catalog/metric_tables.py`, and docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pylon_dagster.analytics.states import closed_states, is_open
from pylon_dagster.warehouse.frames import ColumnKind, copy_frame, frame_records, read_frame
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import python_timestamp, qualified

RECENT_WINDOW = timedelta(days=90)
LATEST_ISSUES = 5
NO_STATE = "unknown"
LATEST_FIELDS = ("number", "title", "state", "link", "created_at", "tags")
DETAILS = ("title", "link", "tags")
"""Fields of the listed issues only: read for them, not for every issue."""
ISSUE_COLUMNS: dict[str, ColumnKind] = {
    "id": "text",
    "account_id": "text",
    "number": "number",
    "state": "text",
    "created_at": "time",
    "first_response_seconds": "number",
    "resolution_seconds": "number",
}


@dataclass(frozen=True)
class SummaryInputs:
    issues: pd.DataFrame
    """Live issues with an account (of the accounts read)."""
    account_ids: pd.Series
    """The accounts of `accounts` (of those read)."""
    closed: frozenset[str]


def read_summary_inputs(
    connection: sa.Connection, schema: str, account_ids: Collection[str] | None = None
) -> SummaryInputs:
    """The inputs of every account, or of the accounts named. The issues are read through COPY
    (`copy_frame`), without their titles, links and tags: only the newest issues of each account,
    the ones the summary lists, get theirs."""
    only = "" if account_ids is None else " AND account_id = ANY(CAST(:ids AS text[]))"
    ids = {} if account_ids is None else {"ids": sorted(account_ids)}
    issues = copy_frame(
        connection,
        "SELECT id, account_id, number, state, "
        f"{python_timestamp('created_at')} AS created_at, first_response_seconds, "
        f"resolution_seconds FROM {live_issues(schema)} AS i WHERE account_id IS NOT NULL{only}",
        ids,
        ISSUE_COLUMNS,
    )
    details = read_frame(
        connection,
        f"SELECT id, {', '.join(DETAILS)} FROM {qualified(schema, 'issues')} "
        "WHERE id = ANY(CAST(:ids AS text[]))",
        {"ids": list(newest_issues(issues)["id"])},
    ).set_index("id")
    for column in DETAILS:
        issues[column] = issues["id"].map(details[column])
    accounts = read_frame(
        connection,
        f"SELECT id FROM {qualified(schema, 'accounts')}"
        + ("" if account_ids is None else " WHERE id = ANY(CAST(:ids AS text[]))"),
        ids,
    )
    return SummaryInputs(issues, accounts["id"], closed_states(connection, schema))


def newest_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Each account's newest issues (by `created_at`, then `number`), newest first."""
    latest = issues.sort_values(
        ["created_at", "number"], ascending=False, na_position="last", kind="stable"
    )
    return latest.groupby("account_id").head(LATEST_ISSUES)


def account_summaries(inputs: SummaryInputs, now: datetime) -> list[dict[str, Any]]:
    """One row per account of `accounts` or of an issue."""
    issues = inputs.issues
    by_account = pd.Index(inputs.account_ids).union(pd.Index(issues["account_id"]).unique())
    open_issues = issues[is_open(issues["state"], inputs.closed)]
    open_issues = open_issues.assign(state=open_issues["state"].fillna(NO_STATE))
    recent = issues[issues["created_at"] >= pd.Timestamp(now - RECENT_WINDOW)]
    summary = pd.DataFrame(index=by_account.rename("account_id"))
    summary["computed_at"] = now.isoformat()
    summary["open_issues"] = open_issues.groupby("account_id").size()
    summary["open_by_state"] = open_issues.groupby("account_id")["state"].agg(_counts_by_state)
    summary["issues_last_90_days"] = recent.groupby("account_id").size()
    summary["median_first_response_seconds"] = recent.groupby("account_id")[
        "first_response_seconds"
    ].median()
    summary["median_resolution_seconds"] = recent.groupby("account_id")[
        "resolution_seconds"
    ].median()
    summary["latest_issues"] = _issue_lists(newest_issues(issues))
    counts = ["open_issues", "issues_last_90_days"]
    summary[counts] = summary[counts].fillna(0).astype("int64")
    for listing, empty in (("open_by_state", dict), ("latest_issues", list)):
        summary[listing] = [
            value if isinstance(value, empty) else empty() for value in summary[listing]
        ]
    return frame_records(summary.reset_index())


def _counts_by_state(states: pd.Series) -> dict[str, int]:
    return {state: int(count) for state, count in states.value_counts().items()}


def _issue_lists(newest: pd.DataFrame) -> pd.Series:
    """Per account, its issues of `newest` as records of `LATEST_FIELDS`, in their order: made in
    one pass over all of them (one DataFrame per account costs seconds at 10,000 accounts)."""
    listed = newest.loc[:, list(LATEST_FIELDS)].astype(object)
    listed["created_at"] = [
        None if pd.isna(at) else at.isoformat().replace("+00:00", "Z")
        for at in listed["created_at"]
    ]
    # A bigint column with nulls reads as floats: the issue number goes back to an integer.
    listed["number"] = pd.Series(
        [None if pd.isna(n) else int(n) for n in listed["number"]], index=listed.index, dtype=object
    )
    lists: dict[str, list[dict[str, Any]]] = {}
    for account, record in zip(newest["account_id"], frame_records(listed), strict=True):
        lists.setdefault(account, []).append(record)
    return pd.Series(lists, dtype=object)
