"""One Pylon organization's definitions, assembled from its `Settings`.

`build_definitions` makes the assets, checks, jobs, schedules, sensors and resources under the
default `pylon` names and renames them for the instance's `key_prefix` (and `group_name`).
`PylonComponent` (component.py) builds every code location through it.

An instance may leave out streams and the metrics (`Settings.streams`, `Settings.metrics`): the
assets are built for what it includes (`build_assets`), the sensors that follow assets likewise
(`build_sensors`), and the jobs are left out when they would run none of its assets, or one it
leaves out, with the schedules and sensors that request them. With every stream and the
metrics, nothing is left out.
"""

from __future__ import annotations

import dagster as dg

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.schedules import build_schedules
from pylon_dagster.automation.sensors import build_sensors
from pylon_dagster.dagster_adapter import AssetGraph
from pylon_dagster.jobs import RUN_EXECUTOR, jobs
from pylon_dagster.namespace import namespaced
from pylon_dagster.resources import build_resources
from pylon_dagster.settings import API_TOKEN_VAR, WAREHOUSE_URL_VAR, Settings


def build_definitions(
    settings: Settings,
    api_token: str = dg.EnvVar(API_TOKEN_VAR),
    warehouse_url: str | None = dg.EnvVar(WAREHOUSE_URL_VAR),
) -> dg.Definitions:
    """The definitions of `settings`, under its instance's names; `api_token` and
    `warehouse_url` go to the resources as given (`build_resources`)."""
    # The daily partitions of `issues`, its children and the metrics: built here, once, and
    # handed to everything keyed by them (`sync` reads them back from the `issues` asset).
    issue_days = issue_partitions(settings.start_date)
    assets = build_assets(settings, issue_days)
    resources = build_resources(settings, api_token, warehouse_url)
    graph = dg.Definitions(
        assets=assets.assets, asset_checks=assets.checks, resources=resources
    ).resolve_asset_graph()
    kept = [job for job in jobs if runs_any(job, graph)]
    names = {job.name for job in kept}
    built = dg.Definitions(
        assets=assets.assets,
        asset_checks=assets.checks,
        jobs=kept,
        schedules=[s for s in build_schedules(settings, issue_days) if s.job_name in names],
        sensors=[s for s in build_sensors(settings, issue_days) if requests_only(s, names)],
        resources=resources,
        executor=RUN_EXECUTOR,
    )
    return namespaced(built, graph, settings.key_prefix, settings.group_name)


def runs_any(job: dg.UnresolvedAssetJobDefinition, graph: AssetGraph) -> bool:
    """Whether `job` selects an asset or a check of `graph`, and names no asset that `graph`
    lacks (a job written for an asset the instance leaves out is left out with it)."""
    try:
        return bool(job.selection.resolve(graph) or job.selection.resolve_checks(graph))
    except dg.DagsterInvalidSubsetError:
        return False


def requests_only(sensor: dg.SensorDefinition, jobs: set[str]) -> bool:
    """Whether every job `sensor` requests runs of is among `jobs` (true of the sensors that
    request none: those that follow assets, the run-failure sensor)."""
    return all(target.job_name in jobs for target in sensor.targets)
