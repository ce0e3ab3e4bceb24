"""The Dagster code location: `dagster dev -m pylon_dagster.definitions` or via workspace.yaml."""

import dagster as dg

from pylon_dagster.assets import asset_checks, pylon_assets
from pylon_dagster.jobs import jobs
from pylon_dagster.resources import resources

defs = dg.Definitions(
    assets=pylon_assets,
    asset_checks=asset_checks,
    jobs=jobs,
    resources=resources(),
)
