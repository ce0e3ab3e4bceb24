"""`PostgresWarehouse`: the Dagster resource through which everything reaches the warehouse."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from pylon_dagster.settings import (
    DEFAULT_SCHEMA,
    DEFAULT_STATE_DIR,
    SCHEMA_VAR,
    STATE_DIR_VAR,
    WAREHOUSE_URL_VAR,
    Settings,
    parse_warehouse_url,
    schema_name,
)
from pylon_dagster.warehouse import ddl, embedded, frames
from pylon_dagster.warehouse.embedded import EMBEDDED_DIR
from pylon_dagster.warehouse.engine import (
    Waits,
    bounded_waits,
    connect,
    describe,
    get_engine,
    privileges_reported,
)
from pylon_dagster.warehouse.loader import LoadTransaction

LOAD_WAITS = Waits(lock_seconds=600, statement_seconds=3600)
"""Loads and DDL wait for each other's row and advisory locks (a window's load may hold its rows
for minutes); ten minutes for a lock is another session's doing. A load's largest statement, an
upsert of a 30-day window, takes seconds: an hour bounds a server that stopped answering."""

_prepared_lock = threading.Lock()
_prepared: set[tuple[str, str, str]] = set()
"""(warehouse, schema, fingerprint of the declarations) this process has prepared."""


class PostgresWarehouse(dg.ConfigurableResource):
    """The Postgres warehouse: a server's URL, or an embedded server in the state folder.

    The code location gives the URL as `EnvVar("PYLON_WAREHOUSE_URL")` (`resources.py`), so a
    password never appears in the Dagster UI. Dagster prepares the warehouse (`prepare()`) when
    it sets the resource up for a run, a step or a sensor.
    """

    url: str | None = Field(
        default=None,
        description=(
            f"Postgres URL ({WAREHOUSE_URL_VAR}). Leave unset for an embedded Postgres whose data "
            "lives in the state folder."
        ),
    )
    schema_name: str = Field(
        default=DEFAULT_SCHEMA,
        description=f"Schema holding the tables ({SCHEMA_VAR}, default {DEFAULT_SCHEMA!r}).",
    )
    state_dir: str = Field(
        default=DEFAULT_STATE_DIR,
        description=f"The state folder ({STATE_DIR_VAR}) holding the embedded Postgres.",
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> PostgresWarehouse:
        """The warehouse the settings name, for code that runs outside Dagster (CLI, web app)."""
        return cls(
            url=settings.warehouse_url,
            schema_name=settings.warehouse_schema,
            state_dir=str(settings.state_dir),
        )

    @property
    def engine(self) -> sa.Engine:
        """The process's engine for this warehouse's URL (one per process and URL)."""
        url = (
            parse_warehouse_url(self.url)
            if self.url
            else embedded.server_url(Path(self.state_dir) / EMBEDDED_DIR)
        )
        return get_engine(url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.prepare()

    def prepare(self) -> None:
        """Make the warehouse ready for this process: the schema, tables, columns, indexes and
        cast functions the specs declare. Once per process; and a process whose declarations the
        warehouse already records (`ddl.prepare`) runs two small queries, no DDL. Callers outside
        Dagster (the web service, scripts) call this before they read or write."""
        key = (describe(self.engine.url), self.schema_name, ddl.fingerprint())
        with _prepared_lock:
            if key in _prepared:
                return
            with self.connection() as connection:
                ddl.prepare(connection, self.schema_name)
            _prepared.add(key)

    def ensure_tables(self) -> None:
        """Make the schema match the specs now, whatever the warehouse records: create the schema,
        tables and indexes missing, and add (and fill) typed columns new in the specs."""
        with self.connection() as connection:
            ddl.ensure_tables(connection, self.schema_name)

    @contextmanager
    def transaction(self) -> Iterator[LoadTransaction]:
        """One database transaction: committed when the block ends, rolled back on an exception."""
        with self.connection() as connection:
            yield LoadTransaction(connection, self.schema_name)

    def read_table(self, name: str, partition_key: str | None = None) -> pd.DataFrame:
        """A warehouse table as a DataFrame: every row, or one daily partition (`YYYY-MM-DD`) of a
        partitioned table (`issues`: by `updated_at`; `support_daily_metrics`: by `day`).

        For your own downstream assets, e.g. `warehouse.read_table("issues", context.partition_key)`.
        """
        with self.connection() as connection:
            return frames.read_table(connection, self.schema_name, name, partition_key)

    def check_schema_name(self) -> None:
        """A plain lower-case name of a schema of our own: not Postgres' system schemas."""
        schema_name(self.schema_name)

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A connection in one transaction, the schema name checked (SQL names the schema itself:
        `self.schema_name`)."""
        self.check_schema_name()
        with (
            privileges_reported(self.engine, self.schema_name),
            connect(self.engine) as connection,
            connection.begin(),
            bounded_waits(
                connection, LOAD_WAITS, f"a table of the warehouse schema {self.schema_name}"
            ),
        ):
            yield connection
