"""Schedules: yesterday's and today's issues, a refresh of the full-refresh streams, the
reconciliation of deleted issues, and the checks of whole tables.

Each issues run covers the previous and the current day partitions in one run (one search window),
so an issue updated just before midnight is picked up even if the sensor missed it. The crons and
the partitions come from `Settings`: `build_schedules` builds the schedules.
"""

from datetime import timedelta

import dagster as dg

from pylon_dagster.assets.deletion_budget import SEARCH_SHARE
from pylon_dagster.dagster_adapter import day_range_tags
from pylon_dagster.jobs import (
    issue_deletions_job,
    issues_job,
    reference_job,
    warehouse_checks_job,
)
from pylon_dagster.namespace import instance_name
from pylon_dagster.pylon.budget import Priority
from pylon_dagster.pylon.resource import PRIORITY_TAG
from pylon_dagster.settings import Settings

WAREHOUSE_CHECKS_CRON = "30 3 * * *"
"""Off-peak: the whole-table checks read every row of the largest tables (tens of seconds at a
million issues)."""


def issues_daily_tick(
    context: dg.ScheduleEvaluationContext, issue_days: dg.PartitionsDefinition
) -> dg.RunRequest | dg.SkipReason:
    """One tick of the issues schedule, on the daily partitions `issue_days` of `issues`."""
    today = context.scheduled_execution_time.date()
    keys = issue_days.get_partition_keys(current_time=context.scheduled_execution_time)
    wanted = [d.isoformat() for d in (today - timedelta(days=1), today) if d.isoformat() in keys]
    if not wanted:
        return dg.SkipReason(f"No issue partitions exist yet for {today} (before the start date).")
    return dg.RunRequest(
        run_key=f"issues-{wanted[0]}-{wanted[-1]}", tags=day_range_tags(wanted[0], wanted[-1])
    )


def build_schedules(
    settings: Settings, issue_days: dg.PartitionsDefinition
) -> list[dg.ScheduleDefinition]:
    """`issue_days`: the daily partitions of `issues`, which the issues schedule runs."""

    @dg.schedule(
        name=instance_name(settings.key_prefix, "pylon_issues_daily"),
        job=issues_job,
        cron_schedule=settings.issues_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Brings `issues`, messages and threads up to date for yesterday and today "
        "(UTC).",
    )
    def issues_daily_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        return issues_daily_tick(context, issue_days)

    reference_daily_schedule = dg.ScheduleDefinition(
        name=instance_name(settings.key_prefix, "pylon_reference_daily"),
        job=reference_job,
        cron_schedule=settings.reference_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily full refresh of accounts, contacts, users, ... and the knowledge base.",
    )
    issue_deletions_schedule = dg.ScheduleDefinition(
        name=instance_name(settings.key_prefix, "pylon_issue_deletions"),
        job=issue_deletions_job,
        cron_schedule=settings.deletions_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        # A slice's listing is bulk work: it yields the search budget to freshness runs.
        tags={PRIORITY_TAG: Priority.BULK.value},
        description="Marks the issues deleted in Pylon (`issues._deleted_at`) and un-marks any "
        "that came back, one slice of the issues by creation date per pass (at most "
        f"{SEARCH_SHARE:.0%} of an hour's search budget; a cycle of passes covers every issue); "
        "hourly by default.",
    )
    warehouse_checks_schedule = dg.ScheduleDefinition(
        name=instance_name(settings.key_prefix, "pylon_warehouse_checks"),
        job=warehouse_checks_job,
        cron_schedule=WAREHOUSE_CHECKS_CRON,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Checks every row of the synced tables (unique keys, no orphan children), "
        "daily off-peak; the runs of `issues` and its children check only their own days.",
    )
    return [
        issues_daily_schedule,
        reference_daily_schedule,
        issue_deletions_schedule,
        warehouse_checks_schedule,
    ]
