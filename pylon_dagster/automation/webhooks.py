"""The webhook sensor: stored Pylon webhook events that name an issue refresh `issues`
(and, in the same run, its messages and threads).

Pylon's webhook bodies are templated by whoever sets up the trigger, so an event is recognised by
its keys: `issue_id`, `issue_number` or an `issue` object with an `id` or `number`, at any depth.
An issue that just changed has `updated_at` about when the event arrived, so the partition to
refresh is the day of receipt (and the day before, when it arrived just after midnight).
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from pylon_dagster.jobs import issues_job
from pylon_dagster.namespace import instance_name, instance_resources
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.webhook_events import StoredEvent, WebhookEventStore

WEBHOOK_TICK_SECONDS = 5
EVENTS_PER_TICK = 1000
BYTES_PER_TICK = 16 * 1024 * 1024
"""Bodies read in one tick, at most (past the first event): bounded memory for the sensor."""

# How long before its receipt an event's change may have happened (delivery delay, clock skew).
DELIVERY_SLACK = timedelta(minutes=5)
ISSUE_KEYS = ("issue_id", "issue_number")


def issue_refs(payload: Any) -> Iterator[str]:
    """Every non-empty issue id or number named anywhere in a decoded JSON payload."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ISSUE_KEYS:
                yield from _ref(value)
            elif key == "issue" and isinstance(value, dict):
                yield from _ref(value.get("id"))
                yield from _ref(value.get("number"))
            yield from issue_refs(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from issue_refs(item)


def _ref(value: Any) -> Iterator[str]:
    # An unfilled template variable arrives as "" (or null): that names nothing.
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        yield str(value).strip()


def event_issue_refs(event: StoredEvent) -> set[str]:
    """The issues an event names; none when its body is not (reasonably nested) JSON."""
    try:
        return set(issue_refs(json.loads(event.body)))
    except (ValueError, RecursionError):
        return set()


def receipt_partitions(
    event: StoredEvent, partitions: dg.TimeWindowPartitionsDefinition
) -> set[str]:
    """The daily partition keys of `partitions` the issue's new `updated_at` may fall in."""
    keys = {
        partitions.get_partition_key_for_timestamp(moment.timestamp())
        for moment in (event.received_at - DELIVERY_SLACK, event.received_at)
    }
    return {key for key in keys if partitions.has_partition_key(key)}


def webhook_events_tick(
    context: dg.SensorEvaluationContext,
    warehouse: PostgresWarehouse,
    issue_days: dg.TimeWindowPartitionsDefinition,
    retention: timedelta,
) -> dg.SensorResult | dg.SkipReason:
    """One tick of the sensor: runs on the daily partitions `issue_days` of `issues`; processed
    events are kept `retention`."""
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    last_id = int(context.cursor or 0)
    # Processed events are kept a while (to tell redeliveries apart), then deleted.
    store.forget(up_to_id=last_id, received_before=datetime.now(UTC) - retention)
    events = store.events_after(last_id, EVENTS_PER_TICK, BYTES_PER_TICK)
    if not events:
        return dg.SkipReason(f"No webhook event after id {last_id}.")
    cursor = str(events[-1].id)
    refs = {event.id: event_issue_refs(event) for event in events}
    relevant = [event for event in events if refs[event.id]]
    keys = sorted(set().union(*(receipt_partitions(event, issue_days) for event in relevant)))
    issues = set().union(*refs.values())
    context.log.info(
        f"{len(events)} webhook event(s), {len(relevant)} naming {len(issues)} issue(s): "
        f"refreshing partitions {keys}"
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"webhook:{key}:{cursor}", partition_key=key) for key in keys
        ],
        cursor=cursor,
    )


def build_webhook_events_sensor(
    settings: Settings, issue_days: dg.TimeWindowPartitionsDefinition
) -> dg.SensorDefinition:
    """The sensor on the daily partitions `issue_days` of `issues`."""

    @dg.sensor(
        name=instance_name(settings.key_prefix, "webhook_events_sensor"),
        job=issues_job,
        # The daemon evaluates sensors every 5 s at most: a webhook's run is requested within
        # seconds. A tick is one indexed read of the events table.
        minimum_interval_seconds=WEBHOOK_TICK_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Turns Pylon webhook events stored by the web service into `issues` runs for the days "
            "they arrived on. The cursor is the id of the last event processed."
        ),
    )
    @instance_resources(settings.key_prefix)
    def webhook_events_sensor(
        context: dg.SensorEvaluationContext, warehouse: PostgresWarehouse
    ) -> dg.SensorResult | dg.SkipReason:
        return webhook_events_tick(context, warehouse, issue_days, settings.webhook_retention)

    return webhook_events_sensor
