"""Where a secret ended up after a command ran: its output, Dagster's storage under the command's
state folder (run and event logs, compute logs, ticks), the Postgres server's log and the
warehouse's tables. Searched in any letter case, byte for byte."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres


def stored_files(state: Path, postgres: EmbeddedPostgres) -> list[Path]:
    """The Postgres server's log (one file, `pg_ctl -l`) and the files of Dagster's storage in
    `state` (none for a command that stopped before Dagster started)."""
    server_log = postgres.state_dir / "postgres" / "log"
    assert server_log.is_file(), f"nothing to search: the server's log {server_log} is missing"
    return [server_log, *(path for path in (state / "dagster").rglob("*") if path.is_file())]


def warehouse_texts(warehouse: PostgresWarehouse) -> dict[str, str]:
    """Every table of the warehouse's schema, its rows as text."""
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"
    with warehouse.engine.connect() as connection:
        names = connection.execute(sa.text(query), {"schema": warehouse.schema_name}).scalars()
        return {
            name: "\n".join(
                connection.exec_driver_sql(
                    f"SELECT t::text FROM {qualified(warehouse.schema_name, name)} AS t"
                ).scalars()
            )
            for name in list(names)
        }


def leaks(
    secrets: Iterable[str],
    *,
    output: str,
    state: Path,
    postgres: EmbeddedPostgres,
    warehouse: PostgresWarehouse,
) -> list[str]:
    """Where any of `secrets` appears: `output`, a stored file's path, or `table NAME`."""
    needles = [secret.lower().encode() for secret in secrets]
    assert needles and all(needles), "a secret to search for must not be empty"
    found = ["output"] if any(n in output.lower().encode() for n in needles) else []
    found += [
        str(path)
        for path in stored_files(state, postgres)
        if any(n in path.read_bytes().lower() for n in needles)
    ]
    found += [
        f"table {name}"
        for name, text in warehouse_texts(warehouse).items()
        if any(n in text.lower().encode() for n in needles)
    ]
    return found
