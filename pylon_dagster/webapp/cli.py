"""`pylon-dagster app`: serve the issue-sidebar custom app and the webhook receiver."""

from __future__ import annotations

import click
import uvicorn

from pylon_dagster.settings import ConfigError
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.webapp.app import create_app
from pylon_dagster.webapp.settings import AppSettings


@click.command("app")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
def app(host: str, port: int) -> None:
    """Serve Pylon's custom app (GET /pylon/custom-app) and webhooks (POST /pylon/webhooks).

    Reads the warehouse from PYLON_WAREHOUSE_URL (else the embedded server) and the secrets from
    PYLON_APP_SECRET, PYLON_APP_HEADER_NAME/PYLON_APP_HEADER_VALUE and PYLON_WEBHOOK_SECRET.
    """
    try:
        settings = AppSettings.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    uvicorn.run(create_app(PostgresWarehouse(), settings), host=host, port=port)
