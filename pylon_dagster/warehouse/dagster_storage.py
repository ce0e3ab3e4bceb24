"""Dagster's own storage (runs, event log, schedule and sensor ticks) in the embedded Postgres.

The state folder's Dagster instance keeps its data in a database of its own, `dagster`, on the
embedded server that also holds the warehouse (in the database `postgres`). Against Dagster's
default SQLite storage this gives concurrent runs in one process (the headless sync runs its
windows side by side), batched event writes and the same storage classes production uses
(`dagster_postgres`, docs/deployment.md).

`dagster.yaml` names these classes with the server's data directory. They start the server (or
join the one running there) and create the database when the instance is loaded, so a bare
`dagster dev` works after the server was stopped, as it does for the warehouse.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import psycopg
import sqlalchemy as sa
from dagster import StringSource
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from psycopg import errors, sql

from pylon_dagster.dagster_adapter import POOLED_CONNECTIONS
from pylon_dagster.warehouse import embedded

if TYPE_CHECKING:
    from dagster._serdes import ConfigurableClassData

DAGSTER_DATABASE = "dagster"
# dagster-postgres is written for psycopg2 (a dependency of its own); the warehouse uses psycopg 3.
DAGSTER_DRIVER = "postgresql+psycopg2"
STORAGE_CLASSES = {
    "run_storage": "EmbeddedPostgresRunStorage",
    "event_log_storage": "EmbeddedPostgresEventLogStorage",
    "schedule_storage": "EmbeddedPostgresScheduleStorage",
}
"""The `dagster.yaml` section of each storage, and the class below that serves it."""


@functools.cache
def dagster_database_url(data_dir: Path) -> str:
    """The URL of the `dagster` database on the embedded server of `data_dir`, which is started
    and given the database first if need be (once per process)."""
    server = embedded.server_url(data_dir)
    _create_database(server, DAGSTER_DATABASE)
    url = server.set(drivername=DAGSTER_DRIVER, database=DAGSTER_DATABASE)
    return url.render_as_string(hide_password=False)


def _create_database(server: sa.URL, name: str) -> None:
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone():
            return
        # Another process (the webserver beside the daemon) may create it first.
        with contextlib.suppress(errors.DuplicateDatabase):
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def storage_settings(data_dir: Path) -> dict[str, Any]:
    """The `dagster.yaml` sections that put an instance's storage on the server of `data_dir`."""
    return {
        section: {
            "module": __name__,
            "class": class_name,
            "config": {"data_dir": str(data_dir)},
        }
        for section, class_name in STORAGE_CLASSES.items()
    }


class _OnEmbeddedServer:
    """Configured by the data directory of the embedded server instead of a URL."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"data_dir": StringSource}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        url = dagster_database_url(Path(config_value["data_dir"]))
        storage = cls(postgres_url=url, inst_data=inst_data)  # type: ignore[call-arg]
        # In every process that uses it (run workers, the daemon, the webserver).
        storage.optimize_for_webserver(**POOLED_CONNECTIONS)  # type: ignore[attr-defined]
        return storage


class EmbeddedPostgresRunStorage(_OnEmbeddedServer, PostgresRunStorage):
    """Dagster's runs in the embedded server's `dagster` database."""


class EmbeddedPostgresEventLogStorage(_OnEmbeddedServer, PostgresEventLogStorage):
    """Dagster's event log (and pool slots) in the embedded server's `dagster` database."""


class EmbeddedPostgresScheduleStorage(_OnEmbeddedServer, PostgresScheduleStorage):
    """Dagster's schedule and sensor ticks in the embedded server's `dagster` database."""
