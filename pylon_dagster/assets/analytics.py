"""The `pylon_analytics` group: support metrics computed with pandas from the raw tables, written
back through the loader (one transaction each), following their inputs automatically.

`support_daily_metrics` has the daily partitions of `issues`, so a factory builds it
(`build_daily_metrics`); the table metadata of both assets is added by `build_assets`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.analytics.accounts import account_summaries, read_summary_inputs
from pylon_dagster.analytics.daily import daily_metrics, read_daily_inputs
from pylon_dagster.analytics.states import closed_states
from pylon_dagster.analytics.summary_scope import (
    SummaryMark,
    accounts_to_recompute,
    changes_from,
    delete_vanished,
)
from pylon_dagster.assets.common import OWNERS, asset_key, load_metadata, sibling_key
from pylon_dagster.assets.issue_deletions import ISSUE_DELETIONS
from pylon_dagster.assets.issues import ISSUES
from pylon_dagster.catalog.metric_tables import (
    ACCOUNT_SUPPORT_SUMMARY,
    ANALYTICS_GROUP,
    SUPPORT_DAILY_METRICS,
)
from pylon_dagster.warehouse import ChildBatch, LoadResult, PostgresWarehouse
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import qualified

DAILY_METRICS = asset_key(SUPPORT_DAILY_METRICS.name)
ACCOUNT_SUMMARY = asset_key(ACCOUNT_SUPPORT_SUMMARY.name)
ISSUE_STATUSES = asset_key("issue_statuses")
KINDS = {"pandas", "postgres"}
MISMATCH_EXAMPLES = 5
UNMARKED = "issues_unmarked"
"""The count of issues a deletion pass un-marked, in its materialization's metadata."""
PASSES_LIMIT = 1000
"""Deletion passes since the summary's previous run looked at; more: every account recomputed."""

# A day's metrics follow every `issues` partition that materializes, not only the latest (as the
# children do, see `issue_children.py`). A refresh of `issue_statuses` alone does not recompute
# every day: a changed status category shows in a day when its issues next update.
DAILY_CONDITION = (
    dg.AutomationCondition.eager()
    .without(dg.AutomationCondition.in_latest_time_window())
    # By table, not key: the condition is shared by every instance's metrics (`namespace.py`).
    .ignore(dg.AssetSelection.key_substring(f"/{ISSUE_STATUSES.path[-1]}"))
    .with_label("eager (every issues partition)")
)
# The summary reads every partition of `issues`: it follows any of them, and is not held back by
# days that were never synced (a start date far back, with no backfill).
SUMMARY_CONDITION = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager (any input updated)")
)


def support_daily_metrics(
    context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    days = [date.fromisoformat(key) for key in context.partition_keys]
    with warehouse.transaction() as tx:
        inputs = read_daily_inputs(tx.connection, warehouse.schema_name, days[0], days[-1])
        rows = daily_metrics(inputs, days)
        load = tx.load(
            SUPPORT_DAILY_METRICS.name,
            [ChildBatch(parent_id=day, records=records) for day, records in rows.items()],
        )
    preview = [row for records in rows.values() for row in records][:5]
    return dg.MaterializeResult(
        metadata=load_metadata(
            load, preview=preview, preview_columns=("day", "team_id", "issues_created")
        )
    )


def build_daily_metrics(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`support_daily_metrics` on the daily partitions of `issues`."""
    # A one-spec multi-asset: where Dagster takes a backfill policy without a beta warning.
    return dg.multi_asset(
        name=DAILY_METRICS.to_python_identifier(),
        specs=[
            dg.AssetSpec(
                DAILY_METRICS,
                group_name=ANALYTICS_GROUP,
                description=SUPPORT_DAILY_METRICS.description,
                deps=[ISSUES, ISSUE_STATUSES],
                partitions_def=partitions,
                automation_condition=DAILY_CONDITION,
                kinds=KINDS,
                owners=OWNERS,
            )
        ],
        partitions_def=partitions,
        # No API window to respect: one run reads the warehouse once for all the days it
        # computes, and takes one run slot of a backfill (of which Dagster allows 2 at a time),
        # not one per 30 days.
        backfill_policy=dg.BackfillPolicy.single_run(),
    )(support_daily_metrics)


class SummaryConfig(dg.Config):
    full: bool = False
    """Recompute every account, not only those whose issues changed since the previous run."""


@dataclass(frozen=True)
class SummaryBuild:
    load: LoadResult
    mark: SummaryMark
    full: bool
    """Every account recomputed, not only the changed ones."""
    deleted: int
    """Rows removed (`load` deletes none): accounts neither in `accounts` nor of a live issue."""


@dg.asset(
    key=ACCOUNT_SUMMARY,
    group_name=ANALYTICS_GROUP,
    description=ACCOUNT_SUPPORT_SUMMARY.description,
    deps=[ISSUES, ISSUE_STATUSES, asset_key("accounts")],
    automation_condition=SUMMARY_CONDITION,
    kinds=KINDS,
    owners=OWNERS,
)
def account_support_summary(
    context: dg.AssetExecutionContext, config: SummaryConfig, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    previous = None if config.full else previous_mark(context.instance, context.asset_key)
    build = build_account_summary(warehouse, datetime.now(UTC), previous)
    return dg.MaterializeResult(
        metadata={
            **load_metadata(build.load),
            **build.mark.metadata(),
            "rows_deleted": build.deleted,
            "full_recompute": build.full,
        }
    )


def previous_mark(
    instance: dg.DagsterInstance, summary: dg.AssetKey = ACCOUNT_SUMMARY
) -> SummaryMark | None:
    """The mark the latest materialization of the summary (`summary`: its key in this
    instance) recorded; None (recompute every account) when a deletion pass may have un-marked
    issues since, which changes no stamp the mark follows."""
    latest = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=summary), limit=1
    ).records
    if not latest or latest[0].asset_materialization is None:
        return None
    passes = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=sibling_key(summary, ISSUE_DELETIONS.path[-1]),
            after_storage_id=latest[0].storage_id,
        ),
        limit=PASSES_LIMIT,
    )
    unmarked = [
        record.asset_materialization.metadata.get(UNMARKED)
        if record.asset_materialization
        else None
        for record in passes.records
    ]
    if passes.has_more or any(count is None or count.value for count in unmarked):
        return None
    return SummaryMark.from_metadata(latest[0].asset_materialization.metadata)


def build_account_summary(
    warehouse: PostgresWarehouse, now: datetime, previous: SummaryMark | None = None
) -> SummaryBuild:
    """Compute and store the summary as of `now`, in one transaction: the accounts changed since
    `previous` (`analytics/summary_scope.py`), or every account."""
    schema = warehouse.schema_name
    with warehouse.transaction() as tx:
        connection = tx.connection
        changes = changes_from(connection)
        closed = closed_states(connection, schema)
        scope = (
            None
            if previous is None
            else accounts_to_recompute(connection, schema, previous, now, closed)
        )
        rows = account_summaries(read_summary_inputs(connection, schema, scope), now)
        load = tx.load(ACCOUNT_SUPPORT_SUMMARY.name, [rows])
        deleted = delete_vanished(connection, schema)
    mark = SummaryMark(changes, now, closed, schema)
    return SummaryBuild(load, mark, scope is None, deleted)


@dg.asset_check(
    asset=DAILY_METRICS,
    name="created_counts_match_issues",
    description=(
        "For every day the run computed (every stored day when the check runs on its own), the "
        "issues created over all teams equal a SQL count of the live issues created that day."
    ),
)
def created_counts_match_issues(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> dg.AssetCheckResult:
    schema = warehouse.schema_name
    table = qualified(schema, SUPPORT_DAILY_METRICS.name)
    if context.has_partition_key_range:
        days, params = "SELECT unnest(CAST(:days AS text[]))", {"days": context.partition_keys}
    else:
        days, params = f"SELECT DISTINCT day FROM {table}", {}
    query = f"""
        WITH days(day) AS ({days}), stored AS (
            SELECT day, sum(issues_created)::bigint AS created FROM {table}
            WHERE day IN (SELECT day FROM days) GROUP BY day
        )
        SELECT d.day, coalesce(s.created, 0), (
            SELECT count(*) FROM {live_issues(schema)} AS i
            WHERE i.created_at >= d.day::date::timestamp AT TIME ZONE 'UTC'
            AND i.created_at < (d.day::date + 1)::timestamp AT TIME ZONE 'UTC'
        )
        FROM days d LEFT JOIN stored s ON s.day = d.day
    """
    return _mismatch_result(warehouse, query, "day", params)


@dg.asset_check(
    asset=ACCOUNT_SUMMARY,
    name="open_counts_match_issues",
    description=(
        "For every account, `open_issues` equals a SQL count of its live issues whose state is "
        "not in the closed category (nor `closed`)."
    ),
)
def open_counts_match_issues(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
    schema = warehouse.schema_name
    query = f"""
        WITH counted AS (
            SELECT s.account_id, s.open_issues, (
                SELECT count(*) FROM {live_issues(schema)} AS i
                WHERE i.account_id = s.account_id AND (i.state IS NULL OR (
                    i.state <> 'closed' AND i.state NOT IN (
                        SELECT slug FROM {qualified(schema, "issue_statuses")}
                        WHERE category = 'closed'
                    )
                ))
            ) AS expected
            FROM {qualified(schema, ACCOUNT_SUPPORT_SUMMARY.name)} s
        )
        SELECT account_id, open_issues, expected FROM counted
    """
    return _mismatch_result(warehouse, query, "account_id", {})


def _mismatch_result(
    warehouse: PostgresWarehouse, counts_query: str, key_name: str, params: dict[str, Any]
) -> dg.AssetCheckResult:
    """Passed when every row of `counts_query` (key, stored count, counted; bound `params`) has
    the stored count equal to the counted one; the metadata names the first mismatches by
    `key_name`, and counts the keys checked."""
    query = f"""
        SELECT key, stored, counted, count(*) FILTER (WHERE stored <> counted) OVER (),
            count(*) OVER ()
        FROM ({counts_query}) AS c(key, stored, counted)
        ORDER BY stored = counted, key LIMIT {MISMATCH_EXAMPLES}
    """
    columns = (key_name, "stored", "counted")
    with warehouse.engine.connect() as connection:
        rows = connection.execute(sa.text(query), params).all()
    mismatches, checked = (rows[0][3], rows[0][4]) if rows else (0, 0)
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata={
            "mismatches": mismatches,
            "checked": checked,
            "examples": dg.MetadataValue.json(
                [dict(zip(columns, row[:3], strict=True)) for row in rows[:mismatches]]
            ),
        },
    )


analytics_checks = [created_counts_match_issues, open_counts_match_issues]
