"""One Pylon organization's definitions, assembled from its `Settings`.

`build_definitions` makes the assets, checks, jobs, schedules, sensors and resources under the
default `pylon` names; `PylonComponent` (component.py) builds every code location through it and
renames what it made for its `key_prefix`.
"""

import dagster as dg

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.schedules import build_schedules
from pylon_dagster.automation.sensors import build_sensors
from pylon_dagster.jobs import RUN_EXECUTOR, jobs
from pylon_dagster.resources import build_resources
from pylon_dagster.settings import API_TOKEN_VAR, WAREHOUSE_URL_VAR, Settings


def build_definitions(
    settings: Settings,
    api_token: str = dg.EnvVar(API_TOKEN_VAR),
    warehouse_url: str | None = dg.EnvVar(WAREHOUSE_URL_VAR),
) -> dg.Definitions:
    """The definitions of `settings`; `api_token` and `warehouse_url` go to the resources as
    given (`build_resources`)."""
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
        resources=build_resources(settings, api_token, warehouse_url),
        executor=RUN_EXECUTOR,
    )
