"""Children follow parents: when an `issues` partition materializes, its messages and threads follow.

The condition sits on the child assets; this sensor evaluates it and is on by default (Dagster's
own default automation sensor starts stopped in open-source deployments).

`AutomationCondition.eager()` only considers the latest time partition of a partitioned asset, so
after a 60-day backfill of `issues` it would request the children of today alone. The children
need every partition whose `issues` updated, so the latest-window restriction is taken out; the
rest of `eager()` stays (not while `issues` is missing or in progress, not twice for one update,
and not when a run already materialized the children together with `issues`).
"""

import dagster as dg

CHILD_CONDITION = (
    dg.AutomationCondition.eager()
    .without(dg.AutomationCondition.in_latest_time_window())
    .with_label("eager (every partition)")
)

automation_sensor = dg.AutomationConditionSensorDefinition(
    "pylon_children_follow_issues",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests messages and threads for every `issues` partition that materialized.",
)
