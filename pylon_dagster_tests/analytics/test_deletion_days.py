"""An issue marked deleted (or back) changes the metrics of its own days, however old: the deletion
pass records exactly those days, the `pylon_metrics_follow_deletions` sensor and the headless sync
recompute them and no other, and the metrics then leave the issue out (or count it again).

Everything runs for real: the emulator over HTTP, the warehouse, the deletion pass and the metric
runs as Dagster materializations; the stored metrics are compared with independent SQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dagster as dg
import pytest

from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.analytics import build_deletions_metrics_sensor
from pylon_dagster.catalog.tablespec import DELETED_AT
from pylon_dagster.jobs import account_summary_job, daily_metrics_job
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.analytics.conftest import BOT_STATUS, DataDays, day_of, rows
from pylon_dagster_tests.analytics.test_metrics import (
    COUNTS,
    TIMES,
    assert_same,
    expected_daily,
    stored_daily,
)
from pylon_dagster_tests.automation.support import RANGE_END, RANGE_START, requested_days
from pylon_dagster_tests.fixtures.days import iso_days
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.fixtures.settings import settings_with
from pylon_dagster_tests.reliability.helpers import deletion_metadata, run_deletion_pass

CLOSED_STATES = {"closed", BOT_STATUS}


def victims(pipeline: Pipeline, first_day: date) -> tuple[dict[str, Any], dict[str, Any]]:
    """An old closed issue, answered and resolved days after it was created, and an open issue of
    an account created after that one was resolved: the days counting them are two stretches."""
    issues = sorted(pipeline.truth("issues").values(), key=lambda issue: issue["created_at"])
    closed = next(
        issue
        for issue in issues
        if issue["state"] == "closed"
        and issue["first_response_time"]
        and day_of(issue["created_at"]) > first_day
        and day_of(issue["first_response_time"]) <= day_of(issue["resolution_time"])
        and (day_of(issue["resolution_time"]) - day_of(issue["created_at"])).days >= 3
    )
    after = day_of(closed["resolution_time"]) + timedelta(days=1)
    opened = next(
        issue
        for issue in issues
        if issue["state"] not in CLOSED_STATES
        and issue["resolution_time"] is None
        and issue["account"]
        and day_of(issue["created_at"]) > after
    )
    return closed, opened


def closed_days(issue: dict[str, Any]) -> set[str]:
    """Created, answered, open at the end of the day, then resolved: a stretch of days."""
    return set(iso_days(day_of(issue["created_at"]), day_of(issue["resolution_time"])))


def open_days(issue: dict[str, Any], last: date) -> set[str]:
    """Open at the end of every day from its creation through `last`."""
    return set(iso_days(day_of(issue["created_at"]), last))


def marked_on(pipeline: Pipeline, issue_id: str) -> date:
    """The day (UTC) the deletion pass marked an issue deleted, read back from the warehouse: the
    last day that counts an issue still open (the real date may have passed the test's today)."""
    table = qualified(pipeline.warehouse.schema_name, "issues")
    query = f"SELECT ({DELETED_AT} AT TIME ZONE 'UTC')::date FROM {table} WHERE id = :id"
    return rows(pipeline.warehouse, query, id=issue_id)[0][0]


def stale_days(pipeline: Pipeline, days: list[date]) -> set[str]:
    """The days of `days` whose stored metrics differ from what independent SQL computes now."""
    stored, expected = (
        stored_daily(pipeline.warehouse),
        expected_daily(pipeline.warehouse, days),
    )
    stale = {day for day, _ in stored.keys() ^ expected.keys()}
    for key in stored.keys() & expected.keys():
        for name in COUNTS + TIMES:
            value = expected[key][name]
            if stored[key][name] != (value if value is None else pytest.approx(value)):
                stale.add(key[0])
    return stale


def open_issues_of(pipeline: Pipeline, account_id: str) -> int:
    table = qualified(pipeline.warehouse.schema_name, "account_support_summary")
    query = f"SELECT open_issues FROM {table} WHERE account_id = :id"
    return rows(pipeline.warehouse, query, id=account_id)[0][0]


def tick(instance: dg.DagsterInstance, cursor: str | None) -> Any:
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        settings = settings_with()
        sensor = build_deletions_metrics_sensor(settings, issue_partitions(settings.start_date))
        return sensor.evaluate_tick(context)


def test_the_days_of_issues_marked_deleted_or_back_and_only_those_are_recomputed(
    pipeline: Pipeline, data_days: DataDays
) -> None:
    pipeline.sync(data_days.first, data_days.today)
    closed, opened = victims(pipeline, data_days.first)
    account = opened["account"]["id"]
    open_before = open_issues_of(pipeline, account)
    # The sync's deletion pass marked nothing: nothing to recompute.
    quiet = tick(pipeline.instance, None)
    assert quiet.run_requests == [] and quiet.cursor is not None

    for victim in (closed, opened):
        pipeline.emulator.delete_issue(victim["id"])
    assert deletion_metadata(run_deletion_pass(pipeline))["issues_marked_deleted"] == 2

    last_day = marked_on(pipeline, opened["id"])
    every_day = data_days.through(last_day)
    expected_days = closed_days(closed) | open_days(opened, last_day)
    stale = stale_days(pipeline, every_day)
    assert {day_of(v["created_at"]).isoformat() for v in (closed, opened)} <= stale
    assert stale <= expected_days
    # The sensor asks for those days exactly, one run per stretch, and for the summary.
    requested = tick(pipeline.instance, quiet.cursor)
    daily = [r for r in requested.run_requests if r.job_name == daily_metrics_job.name]
    assert sorted((r.tags[RANGE_START], r.tags[RANGE_END]) for r in daily) == [
        (day_of(closed["created_at"]).isoformat(), day_of(closed["resolution_time"]).isoformat()),
        (day_of(opened["created_at"]).isoformat(), last_day.isoformat()),
    ]
    assert set(requested_days(daily)) == expected_days
    assert [r.job_name for r in requested.run_requests if r not in daily] == [
        account_summary_job.name
    ]

    recomputed = set()
    for request in requested.run_requests:
        job = pipeline.defs.resolve_job_def(request.job_name)
        run = job.execute_in_process(
            instance=pipeline.instance, tags=request.tags, partition_key=request.partition_key
        )
        assert run.success
        recomputed |= {e.partition for e in run.get_asset_materialization_events() if e.partition}
    assert recomputed == expected_days
    assert_same(stored_daily(pipeline.warehouse), expected_daily(pipeline.warehouse, every_day))
    assert open_issues_of(pipeline, account) == open_before - 1
    assert tick(pipeline.instance, requested.cursor).run_requests == []  # requested once

    # The closed one comes back: a short sync's pass un-marks it, and the sync recomputes its
    # days besides the days it synced.
    pipeline.emulator.restore_issue(closed["id"])
    synced = (data_days.today - timedelta(days=2), data_days.today)
    runs = pipeline.sync(*synced)

    assert [run.summary for run in runs if run.summary] == ["0 issues marked deleted, 1 un-marked"]
    # The metrics runs execute side by side: in whatever order they end.
    assert sorted(run.label for run in runs if run.label.startswith("support metrics")) == [
        f"support metrics {day_of(closed['created_at'])} .. {day_of(closed['resolution_time'])}",
        f"support metrics {synced[0]} .. {synced[1]}",
    ]
    assert_same(stored_daily(pipeline.warehouse), expected_daily(pipeline.warehouse, every_day))
