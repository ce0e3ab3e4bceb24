"""The run-failure sensor: every failed Pylon run is recorded where the UI shows it.

Each asset the run was to materialize gets an observation carrying the run id, the partition range
and the error, so the failure appears on the asset's page next to its materializations. Set
`PYLON_ALERT_WEBHOOK_URL` (`Settings.alert_webhook_url`) to also POST a JSON alert (`{"text": ...}`,
Slack-compatible).

Every run of this code location is watched: UI backfills and the automation sensor launch their
runs under Dagster's implicit asset job, not under `pylon_issues_job` or `pylon_reference_job`.
"""

import dagster as dg
import httpx

from pylon_dagster.dagster_adapter import SerializableErrorInfo, partition_range
from pylon_dagster.namespace import DEFAULT_PREFIX, instance_name
from pylon_dagster.redaction import redact, url_forms
from pylon_dagster.settings import ALERT_WEBHOOK_VAR, Settings

MAX_ERROR_CHARS = 2000
ALERT_TIMEOUT_SECONDS = 10


class AlertDeliveryError(RuntimeError):
    """The alert could not be POSTed. Never quotes the webhook's URL: a chat webhook's URL is
    its secret, and this error is shown as the sensor tick's and logged by the daemon."""


def _short(error: SerializableErrorInfo) -> str:
    """The message with its exception class unqualified: `Failure: ...`, not `dagster._core...`."""
    text = error.message.strip()
    head, sep, rest = text.partition(": ")
    if sep and error.cls_name and head.endswith(error.cls_name):
        return f"{error.cls_name}: {rest}"
    return text


def error_text(error: SerializableErrorInfo) -> str:
    """The error and the causes it does not already quote: a step that used up its RetryPolicy
    only says "Exceeded max_retries"; what went wrong is in the cause."""
    parts: list[str] = []
    current: SerializableErrorInfo | None = error
    while current is not None:
        text = _short(current)
        body = text.partition(": ")[2] or text
        if text and not any(body in part for part in parts):
            parts.append(text)
        current = current.cause
    return " <- ".join(parts)


def failure_summary(context: dg.RunFailureSensorContext) -> dict[str, str]:
    run = context.dagster_run
    tags = run.tags
    span = partition_range(tags)
    partitions = tags.get("dagster/partition") or (f"{span[0]}..{span[1]}" if span else "")
    message = context.failure_event.message or "run failed"
    step_errors = [
        f"{event.step_key}: {error_text(event.step_failure_data.error)}"
        for event in context.get_step_failure_events()
        if event.step_failure_data.error is not None
    ]
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "partitions": partitions,
        "error": "\n".join(step_errors or [message])[:MAX_ERROR_CHARS],
    }


def targeted_assets(context: dg.RunFailureSensorContext) -> list[dg.AssetKey]:
    """The assets the run planned to materialize. A job run launched by a schedule or a sensor
    has no `asset_selection` (it runs the whole job), so the run's own plan is the reference."""
    planned = context.instance.all_logs(
        context.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    keys = {entry.dagster_event.asset_key for entry in planned if entry.dagster_event}
    keys |= set(context.dagster_run.asset_selection or ())
    return sorted((key for key in keys if key is not None), key=lambda key: key.to_string())


def record_run_failure(
    context: dg.RunFailureSensorContext,
    alert_webhook_url: str | None,
    prefix: str = DEFAULT_PREFIX,
) -> None:
    """Observe the failure on every asset of the instance `prefix` the run targeted; POST it to
    `alert_webhook_url`, if one is configured. A run of another instance in the same code
    location (no asset under `prefix`) is that instance's sensor's to record."""
    targeted = targeted_assets(context)
    keys = [key for key in targeted if key.has_prefix([prefix])]
    if targeted and not keys:
        return
    summary = failure_summary(context)
    context.log.error(f"Pylon run failed: {summary}")
    for key in keys:
        context.instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=key, metadata={f"last_failure_{k}": v for k, v in summary.items()}
            )
        )
    if alert_webhook_url:
        text = f"Pylon run {summary['run_id']} ({summary['job']} {summary['partitions']}) failed: {summary['error']}"
        post_alert(alert_webhook_url, {"text": text, **summary})


def post_alert(url: str, payload: dict[str, str]) -> None:
    """POST `payload` to the alert webhook; `AlertDeliveryError` if it is not accepted (httpx's
    own errors quote the URL)."""
    try:
        httpx.post(url, json=payload, timeout=ALERT_TIMEOUT_SECONDS).raise_for_status()
    except httpx.HTTPStatusError as error:
        raise AlertDeliveryError(
            f"The alert webhook ({ALERT_WEBHOOK_VAR}) answered {error.response.status_code}: "
            "check that the URL is current. The failure is recorded on the assets all the same."
        ) from None
    except httpx.HTTPError as error:
        reason = redact(f"{type(error).__name__}: {error}", url_forms(url))
        raise AlertDeliveryError(
            f"The alert webhook ({ALERT_WEBHOOK_VAR}) could not be reached ({reason}). The "
            "failure is recorded on the assets all the same."
        ) from None


def build_run_failure_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=instance_name(settings.key_prefix, "pylon_run_failures"),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records failed Pylon runs on the assets they targeted, and alerts if "
        "configured.",
    )
    def run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
        record_run_failure(context, settings.alert_webhook_url, settings.key_prefix)

    return run_failure_sensor
