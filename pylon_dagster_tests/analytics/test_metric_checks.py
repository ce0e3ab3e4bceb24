"""The asset checks of both metric tables, run for real: they pass on what the assets computed,
and fail once a stored count is off by one."""

from __future__ import annotations

from datetime import date, timedelta

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


def test_the_created_counts_check_of_a_run_counts_the_days_of_the_run(
    pipeline: Pipeline, data_days: DataDays
) -> None:
    """In a run of some days the check counts those days only; on its own, every stored day."""
    first, last = data_days.today - timedelta(days=3), data_days.today
    pipeline.sync(start=first, end=last)
    name = qualified(pipeline.warehouse.schema_name, "support_daily_metrics")
    with pipeline.warehouse.transaction() as tx:
        changed = tx.connection.exec_driver_sql(
            f"UPDATE {name} SET issues_created = issues_created + 1 "
            f"WHERE id = (SELECT min(id) FROM {name}) RETURNING day"
        ).scalar_one()
    run_first = date.fromisoformat(changed) + timedelta(days=1)
    assert run_first < last
    job = pipeline.defs.resolve_job_def("pylon_daily_metrics_job")
    tags = {
        "dagster/asset_partition_range_start": run_first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
    result = job.execute_in_process(instance=pipeline.instance, tags=tags)
    (in_run,) = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "created_counts_match_issues"
    ]
    assert in_run.passed and in_run.metadata["checked"].value == (last - run_first).days + 1
    on_its_own = check_runner(pipeline, "support_daily_metrics", "created_counts_match_issues")()
    assert not on_its_own.passed and on_its_own.metadata["mismatches"].value == 1
    assert on_its_own.metadata["checked"].value > in_run.metadata["checked"].value
