"""The resources of the code location, configured from the environment."""

from __future__ import annotations

import dagster as dg

from pylon_dagster import settings
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.settings import API_TOKEN_VAR
from pylon_dagster.warehouse import PostgresWarehouse


def pylon_resource(warehouse: PostgresWarehouse) -> PylonResource:
    """Pylon over HTTP, its rate budget kept in `warehouse`. The token stays an `EnvVar`, so the UI
    shows its name, never its value."""
    return PylonResource(
        api_token=dg.EnvVar(API_TOKEN_VAR),
        warehouse=warehouse,
        base_url=settings.api_url(),
        rate_limits=settings.rate_limits(),
        rate_limit_window_seconds=settings.rate_limit_window_seconds(),
        backfill_share=settings.backfill_share(),
        progress_interval_seconds=settings.progress_interval_seconds(),
    )


def resources() -> dict[str, dg.ConfigurableResource]:
    warehouse = PostgresWarehouse()
    return {"pylon": pylon_resource(warehouse), "warehouse": warehouse}
