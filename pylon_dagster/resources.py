"""The resources of the code location, configured from `Settings`."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.settings import API_TOKEN_VAR, WAREHOUSE_URL_VAR, Settings
from pylon_dagster.warehouse import PostgresWarehouse


def build_warehouse(
    settings: Settings, url: str | None = dg.EnvVar(WAREHOUSE_URL_VAR)
) -> PostgresWarehouse:
    """The warehouse the settings name. The URL stays an `EnvVar` (`url`, by default
    `PYLON_WAREHOUSE_URL`), so the UI shows its name, never the password in it."""
    return PostgresWarehouse(
        url=url if settings.warehouse_url else None,
        schema_name=settings.warehouse_schema,
        state_dir=str(settings.state_dir),
    )


def build_pylon_resource(
    settings: Settings, warehouse: PostgresWarehouse, api_token: str = dg.EnvVar(API_TOKEN_VAR)
) -> PylonResource:
    """Pylon over HTTP, its rate budget kept in `warehouse`. The token stays an `EnvVar`
    (`api_token`, by default `PYLON_API_TOKEN`), so the UI shows its name, never its value."""
    return PylonResource(
        api_token=api_token,
        warehouse=warehouse,
        base_url=settings.api_url,
        rate_limits=settings.rate_limits,
        rate_limit_window_seconds=settings.rate_limit_window_seconds,
        backfill_share=settings.backfill_share,
        progress_interval_seconds=settings.progress_interval_seconds,
        budget_schema=settings.budget_schema,
    )


def build_resources(
    settings: Settings,
    api_token: str = dg.EnvVar(API_TOKEN_VAR),
    warehouse_url: str | None = dg.EnvVar(WAREHOUSE_URL_VAR),
) -> dict[str, dg.ConfigurableResource]:
    """The resources; `api_token` and `warehouse_url` are what the resources are given for them
    (`EnvVar`s by default; a `PylonComponent` names its own variables)."""
    warehouse = build_warehouse(settings, warehouse_url)
    return {"pylon": build_pylon_resource(settings, warehouse, api_token), "warehouse": warehouse}
