"""The resources of the code location, configured from `Settings`."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.settings import API_TOKEN_VAR, WAREHOUSE_URL_VAR, Settings
from pylon_dagster.warehouse import PostgresWarehouse


def build_warehouse(settings: Settings) -> PostgresWarehouse:
    """The warehouse the settings name. The URL stays an `EnvVar`, so the UI shows its name,
    never the password in it."""
    return PostgresWarehouse(
        url=dg.EnvVar(WAREHOUSE_URL_VAR) if settings.warehouse_url else None,
        schema_name=settings.warehouse_schema,
        state_dir=str(settings.state_dir),
    )


def build_pylon_resource(settings: Settings, warehouse: PostgresWarehouse) -> PylonResource:
    """Pylon over HTTP, its rate budget kept in `warehouse`. The token stays an `EnvVar`, so the UI
    shows its name, never its value."""
    return PylonResource(
        api_token=dg.EnvVar(API_TOKEN_VAR),
        warehouse=warehouse,
        base_url=settings.api_url,
        rate_limits=settings.rate_limits,
        rate_limit_window_seconds=settings.rate_limit_window_seconds,
        backfill_share=settings.backfill_share,
        progress_interval_seconds=settings.progress_interval_seconds,
    )


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    warehouse = build_warehouse(settings)
    return {"pylon": build_pylon_resource(settings, warehouse), "warehouse": warehouse}
