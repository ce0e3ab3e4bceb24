"""Children follow parents: when an `issues` partition materializes, its messages and threads follow.

The condition sits on the child assets (`assets/issue_children.py`); this sensor evaluates it for
them and is on by default (Dagster's own default automation sensor starts stopped in open-source
deployments).
"""

from collections.abc import Sequence

import dagster as dg

from pylon_dagster.catalog.streams import Stream
from pylon_dagster.namespace import instance_key, instance_name
from pylon_dagster.settings import Settings


def build_children_sensor(
    settings: Settings, children: Sequence[Stream]
) -> dg.AutomationConditionSensorDefinition:
    """The sensor of the instance `settings.key_prefix`, for the `children` of `issues` it
    syncs (`CHILD_STREAMS`, or some of them)."""
    prefix = settings.key_prefix
    return dg.AutomationConditionSensorDefinition(
        instance_name(prefix, "pylon_children_follow_issues"),
        target=dg.AssetSelection.assets(*(instance_key(prefix, c.name) for c in children)),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Requests messages and threads for every `issues` partition that materialized.",
    )
