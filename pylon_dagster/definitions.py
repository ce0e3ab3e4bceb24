"""The Dagster code location: `dagster dev -m pylon_dagster.definitions` or via workspace.yaml.

`defs` is loaded lazily (`@dg.definitions`): importing this module starts no server, connects to
nothing and writes nothing (the asset modules it imports read the partition start date, crons
and sensor interval); the resources are configured from the environment when Dagster, a test or
the headless sync calls `defs()`.
"""

import dagster as dg

from pylon_dagster import settings
from pylon_dagster.assets import asset_checks, pylon_assets
from pylon_dagster.automation.analytics import analytics_sensor, deletions_metrics_sensor
from pylon_dagster.automation.children import automation_sensor
from pylon_dagster.automation.failures import run_failure_sensor
from pylon_dagster.automation.issue_updates import issue_updates_sensor
from pylon_dagster.automation.schedules import schedules
from pylon_dagster.automation.webhooks import webhook_events_sensor
from pylon_dagster.jobs import jobs
from pylon_dagster.resources import resources


@dg.definitions
def defs() -> dg.Definitions:
    settings.check_all()
    return dg.Definitions(
        assets=pylon_assets,
        asset_checks=asset_checks,
        jobs=jobs,
        schedules=schedules,
        sensors=[
            issue_updates_sensor,
            automation_sensor,
            analytics_sensor,
            deletions_metrics_sensor,
            run_failure_sensor,
            webhook_events_sensor,
        ],
        resources=resources(),
    )
