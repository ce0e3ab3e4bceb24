"""The support metrics follow their inputs.

`pylon_analytics_follow_inputs` evaluates the automation conditions of the metrics
(`assets/analytics.py`) and is on by default (Dagster's own default automation sensor starts
stopped in open-source deployments).

`pylon_metrics_follow_deletions` follows the deletion pass (`assets/issue_deletions.py`): an issue
marked deleted or back changes the metrics of its own days, which no `issues` partition names
(a deleted issue was created and was open on days long past). Each pass records those days in
its materialization; this sensor recomputes exactly them, and the account summary.
"""

import dagster as dg

from pylon_dagster.assets.analytics import ACCOUNT_SUMMARY, DAILY_METRICS
from pylon_dagster.assets.issue_deletions import ISSUE_DELETIONS, METRIC_DAYS
from pylon_dagster.assets.partitions import stretch_days
from pylon_dagster.automation.run_requests import day_run_requests
from pylon_dagster.jobs import account_summary_job, daily_metrics_job
from pylon_dagster.namespace import DEFAULT_PREFIX, instance_key, instance_name
from pylon_dagster.settings import Settings

PASSES_PER_TICK = 100
CHANGE_COUNTS = ("issues_marked_deleted", "issues_unmarked")


def build_analytics_sensor(settings: Settings) -> dg.AutomationConditionSensorDefinition:
    """The sensor of the instance `settings.key_prefix`."""
    prefix = settings.key_prefix
    return dg.AutomationConditionSensorDefinition(
        instance_name(prefix, "pylon_analytics_follow_inputs"),
        # By key, not group: an instance may put every asset in one group of its own.
        target=dg.AssetSelection.assets(
            *(instance_key(prefix, key.path[-1]) for key in (DAILY_METRICS, ACCOUNT_SUMMARY))
        ),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Recomputes the support metrics of every day whose `issues` changed, and "
        "the account summary when issues, accounts or statuses change.",
    )


def deletions_metrics_tick(
    context: dg.SensorEvaluationContext,
    issue_days: dg.PartitionsDefinition,
    prefix: str = DEFAULT_PREFIX,
) -> dg.SensorResult | dg.SkipReason:
    """One tick of the sensor of the instance `prefix`, on the daily partitions `issue_days` the
    metrics share with `issues`."""
    after = int(context.cursor) if context.cursor else None
    passes = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=instance_key(prefix, ISSUE_DELETIONS.path[-1]), after_storage_id=after
        ),
        limit=PASSES_PER_TICK,
        ascending=True,
    ).records
    if not passes:
        return dg.SkipReason(f"No deletion pass after storage id {after}.")
    cursor = str(passes[-1].storage_id)
    changed, touched = 0, set[str]()
    for record in passes:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        if METRIC_DAYS in metadata:  # passes older than the record of days have none
            changed += sum(metadata[name].value for name in CHANGE_COUNTS)
            touched.update(stretch_days(metadata[METRIC_DAYS].value))
    if not changed:
        return dg.SensorResult(skip_reason="The deletion passes changed no issue.", cursor=cursor)
    days = sorted(touched & set(issue_days.get_partition_keys()))
    context.log.info(f"{changed} issues marked deleted or back: recomputing the days {days}")
    suffix = f"deletions@{cursor}"
    return dg.SensorResult(
        run_requests=[
            *day_run_requests(
                days,
                run_key_suffix=suffix,
                max_days=None,
                job_name=instance_name(prefix, daily_metrics_job.name),
            ),
            dg.RunRequest(
                run_key=f"summary@{suffix}",
                job_name=instance_name(prefix, account_summary_job.name),
            ),
        ],
        cursor=cursor,
    )


def build_deletions_metrics_sensor(
    settings: Settings, issue_days: dg.PartitionsDefinition
) -> dg.SensorDefinition:
    """The sensor on the daily partitions `issue_days` the metrics share with `issues`."""

    @dg.sensor(
        name=instance_name(settings.key_prefix, "pylon_metrics_follow_deletions"),
        jobs=[daily_metrics_job, account_summary_job],
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "After a deletion pass marks issues deleted or un-marks them, recomputes the support "
            "metrics of the days that count those issues (and only those), and the account "
            "summary. The cursor is the storage id of the last pass followed."
        ),
    )
    def deletions_metrics_sensor(
        context: dg.SensorEvaluationContext,
    ) -> dg.SensorResult | dg.SkipReason:
        return deletions_metrics_tick(context, issue_days, settings.key_prefix)

    return deletions_metrics_sensor
