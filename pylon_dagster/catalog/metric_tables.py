"""The metric tables, declared once like the stream tables: the DDL and the Dagster column schema
derive from these specs, and the loader writes them.

Each row is loaded as a JSON record (kept in `raw`) from which the typed columns are computed,
exactly as for API records. Every metric is defined in its column's description (and in
docs/metrics.md). Days are UTC days; a "live" issue is one not deleted in Pylon.
"""

from __future__ import annotations

from pylon_dagster.catalog.tablespec import TableSpec, WriteMode, col, ts

ANALYTICS_GROUP = "pylon_analytics"
RAW_DESCRIPTION = "The row as computed, as JSON (the typed columns are read from it)."
DAY_DESCRIPTION = "UTC day, `YYYY-MM-DD`: the partition key."
OPEN_DEFINITION = (
    "A state is closed when `issue_statuses` puts its slug in the `closed` category (the slug "
    "`closed` always is); every other state, or no state, is open."
)


def _time_statistic(statistic: str, measure: str, events: str) -> str:
    return (
        f"{statistic} of `{measure}` over the live issues whose {events} falls on the day, "
        f"issues without `{measure}` left out; null when none has one. Linear interpolation "
        "between the two nearest values (Postgres `percentile_cont`): the median of an even count "
        "is the mean of the two middle values."
    )


SUPPORT_DAILY_METRICS = TableSpec(
    "support_daily_metrics",
    WriteMode.REPLACE_PER_PARENT,
    (
        col("team_id", description="The issue's current team (`issues.team_id`); null: no team."),
        col("issues_created", "bigint", description="Live issues whose `created_at` is that day."),
        col(
            "issues_resolved",
            "bigint",
            description="Live issues whose `resolution_time` is that day.",
        ),
        col(
            "open_at_end_of_day",
            "bigint",
            description=(
                "Live issues created before the day ended whose state at the end of the day was "
                "open: the state of the issue's newest `issues_history` version updated before "
                "the day ended or, when none is that old, open unless `resolution_time` is before "
                f"the end of the day. {OPEN_DEFINITION}"
            ),
        ),
        col(
            "median_first_response_seconds",
            "double precision",
            description=_time_statistic(
                "Median", "first_response_seconds", "`first_response_time`"
            ),
        ),
        col(
            "p90_first_response_seconds",
            "double precision",
            description=_time_statistic(
                "90th percentile", "first_response_seconds", "`first_response_time`"
            ),
        ),
        col(
            "median_resolution_seconds",
            "double precision",
            description=_time_statistic("Median", "resolution_seconds", "`resolution_time`"),
        ),
        col(
            "p90_resolution_seconds",
            "double precision",
            description=_time_statistic(
                "90th percentile", "resolution_seconds", "`resolution_time`"
            ),
        ),
        col(
            "reopened",
            "bigint",
            description=(
                "Live issues with an `issues_history` version updated that day in an open state "
                f"whose previous version was in a closed state. {OPEN_DEFINITION}"
            ),
        ),
    ),
    "Support metrics per UTC day and team, computed with pandas from `issues`, `issues_history` "
    "and `issue_statuses`. A team has a row for a day when at least one issue counts in one of "
    "its columns.",
    parent_key="day",
    partition_column="day",
    fixed_descriptions={
        "id": "Primary key: `<day>/<team_id>`, or `<day>/` for issues without a team.",
        "day": DAY_DESCRIPTION,
        "raw": RAW_DESCRIPTION,
    },
)

ACCOUNT_SUPPORT_SUMMARY = TableSpec(
    "account_support_summary",
    WriteMode.MERGE,
    (
        ts(
            "computed_at",
            description=(
                "When the row was computed: `now` of its 90-day window. A run recomputes the "
                "accounts whose issues changed or left the window since the previous run, so a "
                "row computed earlier still holds what a computation at the latest run gives."
            ),
        ),
        col(
            "open_issues",
            "bigint",
            description=f"Live issues of the account in an open state. {OPEN_DEFINITION}",
        ),
        col(
            "open_by_state",
            "jsonb",
            description="`{state: count}` of those open issues (`unknown` for no state).",
        ),
        col(
            "issues_last_90_days",
            "bigint",
            description="Live issues of the account created in the 90 days before `computed_at`.",
        ),
        col(
            "median_first_response_seconds",
            "double precision",
            description=(
                "Median `first_response_seconds` of those issues, issues without one left out "
                "(median of an even count: the mean of the two middle values); null when none."
            ),
        ),
        col(
            "median_resolution_seconds",
            "double precision",
            description=(
                "Median `resolution_seconds` of those issues, issues without one left out; null "
                "when none."
            ),
        ),
        col(
            "latest_issues",
            "jsonb",
            description=(
                "The account's 5 newest live issues (by `created_at`, then `number`): an array of "
                "`{number, title, state, link, created_at, tags}`."
            ),
        ),
    ),
    "Support summary per account, computed with pandas from `issues`, `issue_statuses` and "
    "`accounts`: what the issue sidebar shows. One row per account of `accounts` or of an issue.",
    key="account_id",
    fixed_descriptions={"account_id": "Primary key: the account's id.", "raw": RAW_DESCRIPTION},
)

METRIC_TABLES = (SUPPORT_DAILY_METRICS, ACCOUNT_SUPPORT_SUMMARY)
