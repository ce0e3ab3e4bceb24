"""The Dagster code location: `dagster dev -m pylon_dagster.definitions` or via workspace.yaml.

`defs` is loaded lazily (`@dg.definitions`): importing this module (or any of the project's)
reads no setting, starts no server, connects to nothing and writes nothing. Calling `defs()` reads
the environment once into `Settings` (a mistake is one `ConfigError` before anything runs) and
builds the assets, schedules, sensors and resources from it.
"""

import os
from collections.abc import Mapping

import dagster as dg

from pylon_dagster.assets import build_assets
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
    """The code location for `settings`: what `defs()` loads, and what the CLI commands run.
    `api_token` and `warehouse_url` go to the resources as given (`build_resources`)."""
    assets = build_assets(settings)
    return dg.Definitions(
        assets=assets.assets,
        asset_checks=assets.checks,
        jobs=jobs,
        schedules=build_schedules(settings),
        sensors=build_sensors(settings),
        resources=build_resources(settings, api_token, warehouse_url),
        executor=RUN_EXECUTOR,
    )


def code_location(environ: Mapping[str, str]) -> dg.Definitions:
    """The code location `environ` describes (`PYLON_*`), built as a `PylonComponent` is: what
    `defs()` loads and the headless sync and the demo run."""
    # Imported here: the component module builds on `build_definitions` above.
    from pylon_dagster.component import PylonComponent

    return PylonComponent.from_environment(environ).definitions(environ, by_variable=True)


@dg.definitions
def defs() -> dg.Definitions:
    return code_location(os.environ)
