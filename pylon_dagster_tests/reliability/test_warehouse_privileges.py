"""A warehouse role without the privileges the project needs, through `pylon-dagster sync` in a
subprocess: a role made for the test on the real Postgres, its privileges missing. Each case is one
`Error:` line saying what to grant, not the driver's traceback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import ident
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_dagster_tests.reliability.cli_process import cli_env, run_cli
from pylon_emulator import EmulatorServer

# Slow: each test runs `pylon-dagster sync` in a subprocess (the real entry point).
pytestmark = pytest.mark.slow

ONE_DAY = ("--start", "2026-03-13", "--end", "2026-03-13")
ROLE_PASSWORD = "limited-r0le-pw"


@pytest.fixture
def limited_role(warehouse: PostgresWarehouse) -> Iterator[str]:
    """A role that may log in and nothing more (no CREATE on the database, no schema)."""
    role = f"pylon_limited_{uuid.uuid4().hex[:12]}"
    with warehouse.engine.begin() as admin:
        admin.exec_driver_sql(f"CREATE ROLE {ident(role)} LOGIN PASSWORD '{ROLE_PASSWORD}'")
    yield role
    with warehouse.engine.begin() as admin:
        admin.exec_driver_sql(f"DROP OWNED BY {ident(role)}")
        admin.exec_driver_sql(f"DROP ROLE {ident(role)}")


def _sync_as(
    role: str,
    postgres: EmbeddedPostgres,
    server: EmulatorServer,
    warehouse: PostgresWarehouse,
    state: Path,
) -> str:
    """`pylon-dagster sync` connecting as `role`; its output, after checking it failed in one
    `Error:` line without a traceback or the password."""
    url = sa.make_url(postgres.url).set(username=role, password=ROLE_PASSWORD)
    env = cli_env(
        server, warehouse, state, PYLON_WAREHOUSE_URL=url.render_as_string(hide_password=False)
    )
    result = run_cli(env, *ONE_DAY)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert [line for line in output.splitlines() if line.startswith("Error:")] == [
        output.strip().splitlines()[-1]
    ], output
    assert "Traceback" not in output
    assert ROLE_PASSWORD not in output
    assert server.emulator.counters().total_requests == 0
    return output


def test_a_role_that_may_not_create_the_schema_gets_one_line_saying_what_to_grant(
    limited_role: str,
    embedded_postgres: EmbeddedPostgres,
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
):
    output = _sync_as(limited_role, embedded_postgres, emulator_server, warehouse, tmp_path)

    schema = warehouse.schema_name
    assert f"The warehouse role {limited_role} may not create or use the schema {schema}" in output
    assert "permission denied for database" in output
    assert f"CREATE SCHEMA {schema} AUTHORIZATION {limited_role}" in output


def test_a_role_without_access_to_the_schema_gets_one_line_saying_what_to_grant(
    limited_role: str,
    embedded_postgres: EmbeddedPostgres,
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
):
    """The schema exists, made by another role, and this one was given nothing in it."""
    warehouse.ensure_tables()

    output = _sync_as(limited_role, embedded_postgres, emulator_server, warehouse, tmp_path)

    schema = warehouse.schema_name
    assert f"The warehouse role {limited_role} may not create or use the schema {schema}" in output
    assert f"permission denied for schema {schema}" in output
    assert f"ALTER SCHEMA {schema} OWNER TO {limited_role}" in output
