"""The scoped read of a stretch of days (`analytics/day_scope.py`) against the full computation:
the one-pass oracle's seeded inputs are stored in a real warehouse, some marked deleted, and for
random day subsets the metrics from what `read_daily_inputs` reads equal `daily_metrics` over
every live issue and every version."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pylon_dagster.analytics.daily import DailyInputs, daily_metrics, read_daily_inputs
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.analytics.test_daily_one_pass import (
    CLOSED,
    ISSUE_COLUMNS,
    random_days,
    random_inputs,
)

SEEDS = 60
DAY_SUBSETS = 4
DELETED_SHARE = 0.1


def stored_inputs(rng: random.Random) -> tuple[DailyInputs, list[str]]:
    """Oracle inputs as a warehouse holds them: one version per (id, updated_at), each issue's row
    its newest version. Returns them with the ids to mark deleted."""
    inputs = random_inputs(rng)
    versions = inputs.versions.dropna(subset=["updated_at"]).drop_duplicates(["id", "updated_at"])
    deleted = [i for i in inputs.issues["id"] if rng.random() < DELETED_SHARE]
    return DailyInputs(inputs.issues, versions, inputs.closed), deleted


def plain(value: Any) -> Any:
    """A frame value as a bound parameter: missing values as None."""
    if pd.isna(value):
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def store(connection: sa.Connection, schema: str, inputs: DailyInputs, deleted: list[str]) -> None:
    for table in ("issues", "issues_history"):
        connection.exec_driver_sql(f"TRUNCATE {qualified(schema, table)}")
    newest = inputs.versions.sort_values("updated_at").groupby("id").last()
    issues = [
        {name: plain(value) for name, value in issue.items()}
        | {
            "updated_at": plain(newest["updated_at"].get(issue["id"])),
            "state": plain(newest["state"].get(issue["id"])),
            "deleted": issue["id"] in deleted,
        }
        for issue in inputs.issues.to_dict("records")
    ]
    columns = ", ".join(ISSUE_COLUMNS)
    values = ", ".join(f":{name}" for name in ISSUE_COLUMNS)
    if issues:
        connection.execute(
            sa.text(
                f"INSERT INTO {qualified(schema, 'issues')} ({columns}, updated_at, state, raw, "
                f"_synced_at, _deleted_at) VALUES ({values}, :updated_at, :state, '{{}}', now(), "
                "CASE WHEN :deleted THEN now() END)"
            ),
            issues,
        )
    versions = [
        {name: plain(value) for name, value in version.items()}
        for version in inputs.versions.to_dict("records")
    ]
    if versions:
        connection.execute(
            sa.text(
                f"INSERT INTO {qualified(schema, 'issues_history')} (id, updated_at, state, raw, "
                "_synced_at) VALUES (:id, :updated_at, :state, '{}', now())"
            ),
            versions,
        )


def live(inputs: DailyInputs, deleted: list[str]) -> DailyInputs:
    issues = inputs.issues[~inputs.issues["id"].isin(deleted)]
    versions = inputs.versions[inputs.versions["id"].isin(issues["id"])]
    return DailyInputs(issues, versions, inputs.closed)


@pytest.mark.slow  # 60 seeded warehouses, 4 day subsets each: left out of the quick loop
def test_scoped_metrics_equal_the_full_computation(warehouse: PostgresWarehouse) -> None:
    warehouse.ensure_tables()
    schema = warehouse.schema_name
    with warehouse.transaction() as tx:
        tx.connection.execute(
            sa.text(
                f"INSERT INTO {qualified(schema, 'issue_statuses')} (slug, category, raw, "
                "_synced_at) VALUES (:slug, 'closed', '{}', now())"
            ),
            [{"slug": slug} for slug in CLOSED],
        )
    left_out = counted_not_read = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        inputs, deleted = stored_inputs(rng)
        full = live(inputs, deleted)
        with warehouse.transaction() as tx:
            store(tx.connection, schema, inputs, deleted)
        for _ in range(DAY_SUBSETS):
            days = sorted(random_days(rng))
            with warehouse.transaction() as tx:
                scoped = read_daily_inputs(tx.connection, schema, days[0], days[-1])
            assert daily_metrics(scoped, days) == daily_metrics(full, days), (seed, days)
            assert set(scoped.issues["id"]) <= set(full.issues["id"])
            left_out += len(full.issues) - len(scoped.issues)
            counted_not_read += int(scoped.steady_open.sum())
    # What the inputs had to hold for this to prove something: days that need fewer issues, and
    # open issues counted in SQL instead of read.
    assert left_out > 0
    assert counted_not_read > 0
