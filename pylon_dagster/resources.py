"""The resources of the code location, configured from the environment."""

from __future__ import annotations

import dagster as dg

from pylon_dagster import settings
from pylon_dagster.pylon.resource import DEFAULT_BASE_URL, PylonResource
from pylon_dagster.warehouse import PostgresWarehouse

API_TOKEN_VAR = "PYLON_API_TOKEN"


def pylon_resource() -> PylonResource:
    """Pylon over HTTP. The token stays an `EnvVar`, so the UI shows its name, never its value."""
    return PylonResource(
        api_token=dg.EnvVar(API_TOKEN_VAR),
        base_url=settings.api_url(DEFAULT_BASE_URL),
        rate_limit_preset=settings.rate_limit_preset(),
        rate_limit_window_seconds=settings.rate_limit_window_seconds(),
    )


def resources() -> dict[str, dg.ConfigurableResource]:
    return {"pylon": pylon_resource(), "warehouse": PostgresWarehouse()}
