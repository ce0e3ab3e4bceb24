"""`pylon-dagster app`: serve the issue-sidebar custom app and the webhook receiver."""

from __future__ import annotations

import os
from collections.abc import Mapping

import click
import uvicorn

from pylon_dagster.settings import ConfigError, Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.engine import WarehouseUnavailableError, connect
from pylon_dagster.webapp.settings import AppSettings

APP_FACTORY = "pylon_dagster.webapp.app:app_from_env"
MAX_WORKERS = 64
WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn waits for a worker to answer its health check before killing it. Its default,
5 s, kills healthy workers on a busy host: a new worker first imports Dagster, and the check is
answered by a thread that shares the interpreter with that import and with the request threads."""


@click.command("app")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, MAX_WORKERS),
    help="Worker processes serving requests, each with its own warehouse connections.",
)
def app(host: str, port: int, workers: int) -> None:
    """Serve Pylon's custom app (GET /pylon/custom-app) and webhooks (POST /pylon/webhooks).

    Reads the warehouse from PYLON_WAREHOUSE_URL (else the embedded server) and the secrets from
    PYLON_APP_SECRET, PYLON_APP_HEADER_NAME/PYLON_APP_HEADER_VALUE and PYLON_WEBHOOK_SECRET.
    """
    try:
        check_configuration(os.environ)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        # A line per request would hold every sidebar's query string (requester e-mails) and
        # cost a tenth of a request's CPU time; errors are still logged.
        access_log=False,
    )


def check_configuration(environ: Mapping[str, str]) -> None:
    """Settings and warehouse, checked once before any worker starts: a mistake is one error
    line rather than a traceback from every worker. Starts the embedded server if it is used,
    so that the workers join it instead of racing to start it."""
    AppSettings.from_env(environ)
    warehouse = PostgresWarehouse.from_settings(Settings.from_env(environ))
    try:
        engine = warehouse.engine
        connect(engine).close()
    except WarehouseUnavailableError as error:
        raise ConfigError(str(error)) from None
    engine.dispose()  # the workers open their own connections
