"""The support metrics follow their inputs: this sensor evaluates the automation conditions of the
`pylon_analytics` group (`assets/analytics.py`) and is on by default (Dagster's own default
automation sensor starts stopped in open-source deployments)."""

import dagster as dg

from pylon_dagster.analytics.tables import ANALYTICS_GROUP

analytics_sensor = dg.AutomationConditionSensorDefinition(
    "pylon_analytics_follow_inputs",
    target=dg.AssetSelection.groups(ANALYTICS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Recomputes the support metrics of every day whose `issues` changed, and the "
    "account summary when issues, accounts or statuses change.",
)
