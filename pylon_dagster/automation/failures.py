"""The run-failure sensor: every failed Pylon run is recorded where the UI shows it.

Each asset the run targeted gets an observation carrying the run id, the partition range and the
error, so the failure appears on the asset's page next to its materializations. Set
`PYLON_ALERT_WEBHOOK_URL` to also POST a JSON alert (`{"text": ...}`, Slack-compatible).
"""

import os

import dagster as dg
import httpx
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from pylon_dagster.jobs import jobs

ALERT_WEBHOOK_VAR = "PYLON_ALERT_WEBHOOK_URL"
MAX_ERROR_CHARS = 2000


def failure_summary(context: dg.RunFailureSensorContext) -> dict[str, str]:
    run = context.dagster_run
    tags = run.tags
    partitions = tags.get("dagster/partition") or (
        f"{tags[ASSET_PARTITION_RANGE_START_TAG]}..{tags[ASSET_PARTITION_RANGE_END_TAG]}"
        if ASSET_PARTITION_RANGE_START_TAG in tags
        else ""
    )
    message = context.failure_event.message or "run failed"
    step_errors = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
        for event in context.get_step_failure_events()
        if event.step_failure_data.error is not None
    ]
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "partitions": partitions,
        "error": "\n".join(step_errors or [message])[:MAX_ERROR_CHARS],
    }


@dg.run_failure_sensor(
    name="pylon_run_failures",
    monitored_jobs=jobs,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records failed Pylon runs on the assets they targeted, and alerts if configured.",
)
def run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    summary = failure_summary(context)
    context.log.error(f"Pylon run failed: {summary}")
    for key in context.dagster_run.asset_selection or []:
        context.instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=key, metadata={f"last_failure_{k}": v for k, v in summary.items()}
            )
        )
    if url := os.environ.get(ALERT_WEBHOOK_VAR):
        text = f"Pylon run {summary['run_id']} ({summary['job']} {summary['partitions']}) failed: {summary['error']}"
        httpx.post(url, json={"text": text, **summary}, timeout=10).raise_for_status()
