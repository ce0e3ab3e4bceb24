"""Every sensor of the code location; those that depend on settings are built from `Settings`."""

import dagster as dg

from pylon_dagster.assets.issue_children import CHILD_STREAMS
from pylon_dagster.automation.analytics import (
    build_analytics_sensor,
    build_deletions_metrics_sensor,
)
from pylon_dagster.automation.children import build_children_sensor
from pylon_dagster.automation.failures import build_run_failure_sensor
from pylon_dagster.automation.issue_updates import build_issue_updates_sensor
from pylon_dagster.automation.webhooks import build_webhook_events_sensor
from pylon_dagster.settings import Settings


def build_sensors(
    settings: Settings, issue_days: dg.TimeWindowPartitionsDefinition
) -> list[dg.SensorDefinition]:
    """`issue_days`: the daily partitions of `issues`, which the sensors request runs of. Every
    sensor that requests jobs is built (`assemble.py` leaves out those whose jobs it leaves
    out); those that follow assets, only for the assets the instance includes."""
    return [
        build_issue_updates_sensor(settings, issue_days),
        *followers(settings),
        build_deletions_metrics_sensor(settings, issue_days),
        build_run_failure_sensor(settings),
        build_webhook_events_sensor(settings, issue_days),
    ]


def followers(settings: Settings) -> list[dg.AutomationConditionSensorDefinition]:
    """The automation sensors of what the instance includes: one for the children of `issues`
    it syncs, one for the metrics. (A sensor must not name an asset the instance leaves out.)"""
    children = settings.included(CHILD_STREAMS)
    return [
        *([build_children_sensor(settings, children)] if children else []),
        *([build_analytics_sensor(settings)] if settings.metrics else []),
    ]
