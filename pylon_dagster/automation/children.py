"""Children follow parents: when an `issues` partition materializes, its messages and threads follow.

The condition sits on the child assets (`assets/issue_children.py`); this sensor evaluates it for
them and is on by default (Dagster's own default automation sensor starts stopped in open-source
deployments).
"""

import dagster as dg

from pylon_dagster.assets.common import asset_key
from pylon_dagster.assets.issue_children import CHILD_STREAMS

automation_sensor = dg.AutomationConditionSensorDefinition(
    "pylon_children_follow_issues",
    target=dg.AssetSelection.assets(*(asset_key(child.name) for child in CHILD_STREAMS)),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests messages and threads for every `issues` partition that materialized.",
)
