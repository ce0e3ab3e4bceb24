"""The Dagster code location: `dagster dev -m pylon_dagster.definitions` or via workspace.yaml.

`defs` is loaded lazily (`@dg.definitions`): importing this module (or any of the project's)
reads no setting, starts no server, connects to nothing and writes nothing. Calling `defs()` reads
the environment once into `Settings` (a mistake is one `ConfigError` before anything runs) and
builds the assets, schedules, sensors and resources from it.
"""

import os

import dagster as dg

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.schedules import build_schedules
from pylon_dagster.automation.sensors import build_sensors
from pylon_dagster.jobs import RUN_EXECUTOR, jobs
from pylon_dagster.resources import build_resources
from pylon_dagster.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for `settings`: what `defs()` loads, and what the CLI commands run."""
    # The daily partitions of `issues`, its children and the metrics: built here, once, and
    # handed to everything keyed by them (`sync` reads them back from the `issues` asset).
    issue_days = issue_partitions(settings.start_date)
    assets = build_assets(settings, issue_days)
    return dg.Definitions(
        assets=assets.assets,
        asset_checks=assets.checks,
        jobs=jobs,
        schedules=build_schedules(settings, issue_days),
        sensors=build_sensors(settings, issue_days),
        resources=build_resources(settings),
        executor=RUN_EXECUTOR,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env(os.environ))
