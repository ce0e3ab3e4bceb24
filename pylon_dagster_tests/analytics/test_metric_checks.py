"""The asset checks of both metric tables, run for real: they pass on what the assets computed,
and fail once a stored count is off by one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.analytics.conftest import DataDays, check_runner
from pylon_dagster_tests.fixtures.pipeline import Pipeline


@pytest.mark.parametrize(
    ("table", "check", "count_column", "key", "checked_by"),
    [
        ("support_daily_metrics", "created_counts_match_issues", "issues_created", "id", "day"),
        (
            "account_support_summary",
            "open_counts_match_issues",
            "open_issues",
            "account_id",
            "account_id",
        ),
    ],
)
def test_a_metric_check_passes_and_fails_on_a_wrong_count(
    pipeline: Pipeline,
    data_days: DataDays,
    table: str,
    check: str,
    count_column: str,
    key: str,
    checked_by: str,
) -> None:
    """`checked_by`: what the check counts per (a day's teams add up)."""
    pipeline.sync(start=data_days.today - timedelta(days=3), end=data_days.today)
    evaluate = check_runner(pipeline, table, check)
    passed = evaluate()
    assert passed.passed and passed.metadata["mismatches"].value == 0
    name = qualified(pipeline.warehouse.schema_name, table)
    with pipeline.warehouse.transaction() as tx:
        changed = tx.connection.exec_driver_sql(
            f"UPDATE {name} SET {count_column} = {count_column} + 1 "
            f"WHERE {key} = (SELECT min({key}) FROM {name}) RETURNING {checked_by}"
        ).scalar_one()
    failed = evaluate()
    assert not failed.passed and failed.metadata["mismatches"].value == 1
    (example,) = failed.metadata["examples"].value
    assert example[checked_by] == changed and example["stored"] == example["counted"] + 1
