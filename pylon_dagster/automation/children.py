"""Children follow parents: when an `issues` partition materializes, its messages and threads follow.

The condition sits on the child assets; this sensor evaluates it and is on by default (Dagster's
own default automation sensor starts stopped in open-source deployments).
"""

import dagster as dg

CHILD_CONDITION = dg.AutomationCondition.eager()

automation_sensor = dg.AutomationConditionSensorDefinition(
    "pylon_children_follow_issues",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests messages and threads for every `issues` partition that materialized.",
)
