"""The daily schedules: which runs their ticks ask for, and that those runs sync the right days."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.schedules import build_schedules
from pylon_dagster.definitions import defs
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.settings import Settings
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.fixtures.settings import settings_with

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
ISSUES = dg.AssetKey(["pylon", "issues"])
ISSUE_FAMILY = {
    ISSUES,
    dg.AssetKey(["pylon", "issue_messages"]),
    dg.AssetKey(["pylon", "issue_threads"]),
}
ISSUE_DELETIONS = dg.AssetKey(["pylon", "issue_deletions"])


def _tick(
    settings: Settings, name: str, at: datetime
) -> tuple[dg.ScheduleDefinition, dg.ScheduleExecutionData]:
    """The schedule `name` built from `settings`, and what its tick at `at` asks for."""
    schedules = build_schedules(settings, issue_partitions(settings.start_date))
    (schedule,) = [s for s in schedules if s.name == name]
    return schedule, schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at))


def _job_assets(job_name: str) -> set[dg.AssetKey]:
    return set(defs().resolve_job_def(job_name).asset_layer.executable_asset_keys)


def test_the_schedules_run_in_utc_and_start_running():
    for name, cron in (
        ("pylon_issues_daily", "15 0 * * *"),
        ("pylon_reference_daily", "45 0 * * *"),
        ("pylon_issue_deletions", "30 * * * *"),
    ):
        schedule = defs().resolve_schedule_def(name)
        assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, "UTC")
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_crons_come_from_the_settings():
    settings = settings_with(
        PYLON_ISSUES_SCHEDULE_CRON="5 1 * * *",
        PYLON_REFERENCE_SCHEDULE_CRON="10  2 * * *",
        PYLON_DELETIONS_SCHEDULE_CRON="0 */2 * * *",
    )
    crons = {
        schedule.name: schedule.cron_schedule
        for schedule in build_schedules(settings, issue_partitions(settings.start_date))
    }
    assert crons == {
        "pylon_issues_daily": "5 1 * * *",
        "pylon_reference_daily": "10 2 * * *",
        "pylon_issue_deletions": "0 */2 * * *",
        "pylon_warehouse_checks": "30 3 * * *",  # off-peak, not a setting
    }


def test_the_issues_tick_asks_for_yesterday_and_today_in_one_run_that_syncs_them(
    pipeline: Pipeline, settings: Settings
):
    schedule, result = _tick(
        settings, "pylon_issues_daily", datetime(2026, 3, 14, 0, 15, tzinfo=UTC)
    )
    (request,) = result.run_requests
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-03-13", "2026-03-14")
    assert request.partition_key is None
    assert schedule.job_name == "pylon_issues_job"
    assert _job_assets("pylon_issues_job") == ISSUE_FAMILY

    job = pipeline.defs.resolve_job_def("pylon_issues_job")
    run = job.execute_in_process(instance=pipeline.instance, tags=request.tags)
    assert run.success
    assert pipeline.instance.get_materialized_partitions(ISSUES) == {"2026-03-13", "2026-03-14"}
    window = (datetime(2026, 3, 13, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC))
    expected = {
        issue["id"]: issue
        for issue in pipeline.emulator.truth("issues")
        if window[0] <= parse_timestamp(issue["updated_at"]) < window[1]
    }
    assert expected, "the pinned dataset has issues on both days"
    assert pipeline.rows("issues") == expected


def test_the_issues_tick_keeps_inside_the_partitions():
    # The first day: yesterday is before the start date.
    settings = settings_with(PYLON_START_DATE="2025-12-01")
    _, first_day = _tick(settings, "pylon_issues_daily", datetime(2025, 12, 1, 0, 15, tzinfo=UTC))
    (request,) = first_day.run_requests
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2025-12-01", "2025-12-01")
    _, before = _tick(settings, "pylon_issues_daily", datetime(2025, 11, 30, 0, 15, tzinfo=UTC))
    assert before.run_requests == []
    assert "before the start date" in before.skip_message


def test_the_reference_tick_refreshes_everything_but_the_issues(settings: Settings):
    schedule, result = _tick(
        settings, "pylon_reference_daily", datetime(2026, 3, 14, 0, 45, tzinfo=UTC)
    )
    (request,) = result.run_requests
    assert schedule.job_name == "pylon_reference_job"
    assert request.partition_key is None and RANGE_START not in request.tags
    every_asset = {key for assets in defs().assets for key in assets.keys}
    # The metrics are computed from the warehouse: they follow their inputs on their own.
    metrics = {
        dg.AssetKey(["pylon", "support_daily_metrics"]),
        dg.AssetKey(["pylon", "account_support_summary"]),
    }
    assert _job_assets("pylon_reference_job") == every_asset - ISSUE_FAMILY - metrics - {
        ISSUE_DELETIONS
    }
    assert dg.AssetKey(["pylon", "accounts"]) in _job_assets("pylon_reference_job")


def test_the_deletions_tick_runs_the_deletion_pass_alone_as_bulk_work(settings: Settings):
    schedule, result = _tick(
        settings, "pylon_issue_deletions", datetime(2026, 3, 14, 1, 30, tzinfo=UTC)
    )
    (request,) = result.run_requests
    assert schedule.job_name == "pylon_issue_deletions_job"
    assert _job_assets("pylon_issue_deletions_job") == {ISSUE_DELETIONS}
    # It yields Pylon's search budget to the freshness runs of schedules and sensors.
    assert request.tags["pylon_dagster/priority"] == "bulk"
    assert ISSUES in defs().resolve_asset_graph().get(ISSUE_DELETIONS).parent_keys
