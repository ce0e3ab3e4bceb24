"""Where the warehouse is: the embedded server, an external URL, and clear errors when wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pylon_dagster.resources import build_warehouse
from pylon_dagster.settings import (
    STATE_DIR_VAR,
    WAREHOUSE_URL_VAR,
    ConfigError,
    Settings,
    parse_warehouse_url,
)
from pylon_dagster.warehouse import PostgresWarehouse, WarehouseUnavailableError, embedded
from pylon_dagster.warehouse.resource import EMBEDDED_DIR, SCHEMA_VAR
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_dagster_tests.fixtures.settings import settings_with
from pylon_dagster_tests.warehouse.helpers import issue, load, rows

SECRET = "s3cr3t-pa55"


def server_start_time(warehouse: PostgresWarehouse) -> str:
    """Identifies the server: two warehouses on one server see the same start time."""
    with warehouse.transaction() as tx:
        return str(tx.connection.exec_driver_sql("SELECT pg_postmaster_start_time()").scalar())


def test_without_a_url_the_embedded_server_in_the_state_folder_is_used(
    warehouse: PostgresWarehouse, embedded_postgres: EmbeddedPostgres
):
    settings = settings_with(
        PYLON_DAGSTER_STATE=str(embedded_postgres.state_dir),
        PYLON_WAREHOUSE_SCHEMA=warehouse.schema_name,
    )
    embedded_warehouse = PostgresWarehouse.from_settings(settings)
    assert embedded_warehouse.schema_name == warehouse.schema_name
    assert embedded_warehouse.engine.url.query["host"].startswith(str(embedded_postgres.state_dir))
    embedded_warehouse.ensure_tables()
    load(embedded_warehouse, "issues", [[issue("i1", "2026-03-01T00:00:00Z")]])
    assert [r["id"] for r in rows(warehouse, "issues")] == ["i1"]


def test_one_engine_per_url(warehouse: PostgresWarehouse):
    assert PostgresWarehouse(url=warehouse.url, schema_name="other").engine is warehouse.engine


def test_plain_postgres_urls_mean_psycopg_3():
    for scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        url = parse_warehouse_url(f"{scheme}://user:{SECRET}@db.example.com:5432/pylon")
        assert url.drivername == "postgresql+psycopg"
        assert url.password == SECRET


@pytest.fixture(scope="module")
def second_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another Postgres, reached as an external server: a plain `postgresql://` URL."""
    data_dir = tmp_path_factory.mktemp("external") / "postgres"
    url = embedded.server_url(data_dir).set(drivername="postgresql")
    yield url.render_as_string(hide_password=False)
    embedded.stop_server(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.slow
def test_an_external_server_through_the_environment(
    warehouse: PostgresWarehouse, second_server: str
):
    session_server = server_start_time(warehouse)
    settings = settings_with(
        PYLON_WAREHOUSE_URL=second_server, PYLON_WAREHOUSE_SCHEMA=warehouse.schema_name
    )
    external = PostgresWarehouse.from_settings(settings)
    assert server_start_time(external) != session_server
    external.ensure_tables()
    load(external, "accounts", [[{"id": "a1", "name": "External"}]])
    assert [r["name"] for r in rows(external, "accounts")] == ["External"]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://user:{SECRET}@db.example.com:not-a-port/pylon",
        f"mysql://user:{SECRET}@db.example.com/pylon",
        f"user:{SECRET} at db.example.com",
    ],
)
def test_a_malformed_url_is_a_clear_config_error(url: str):
    # Refused with the other settings, before anything runs; a resource configured directly is
    # held to the same rule when it first connects.
    with pytest.raises(ConfigError) as from_settings:
        settings_with(PYLON_WAREHOUSE_URL=url)
    with pytest.raises(ConfigError) as from_resource:
        PostgresWarehouse(url=url, schema_name="pylon").ensure_tables()
    for raised in (from_settings, from_resource):
        message = str(raised.value)
        assert WAREHOUSE_URL_VAR in message and "postgresql://" in message
        assert SECRET not in message
        # Nor does a traceback show the parser's own error, which may quote the URL.
        assert raised.value.__context__ is None or raised.value.__suppress_context__


def test_an_unreachable_server_is_a_clear_error():
    # Port 9 on localhost: nothing listens there, so the connection is refused at once.
    settings = settings_with(PYLON_WAREHOUSE_URL=f"postgresql://pylon:{SECRET}@127.0.0.1:9/pylon")
    with pytest.raises(WarehouseUnavailableError) as raised:
        PostgresWarehouse.from_settings(settings).ensure_tables()
    message = str(raised.value)
    assert WAREHOUSE_URL_VAR in message and "127.0.0.1:9" in message and "***" in message
    assert SECRET not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_schema_name_must_be_a_plain_name(embedded_postgres: EmbeddedPostgres):
    hostile = 'pylon"; DROP SCHEMA public; --'
    with pytest.raises(ConfigError, match=SCHEMA_VAR):
        settings_with(PYLON_WAREHOUSE_SCHEMA=hostile)
    # A resource configured directly is held to the same rule before any statement runs.
    with pytest.raises(ConfigError, match=SCHEMA_VAR):
        PostgresWarehouse(url=embedded_postgres.url, schema_name=hostile).ensure_tables()


WORKER = """
import json, os, sys
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.warehouse.helpers import issue, load, rows
warehouse = PostgresWarehouse.from_settings(Settings.from_env(os.environ))
warehouse.ensure_tables()
if sys.argv[1] != "-":
    load(warehouse, "issues", [[issue(sys.argv[1], "2026-03-01T00:00:00Z")]])
with warehouse.transaction() as tx:
    started = str(tx.connection.exec_driver_sql("SELECT pg_postmaster_start_time()").scalar())
print(json.dumps({"server": started, "ids": [r["id"] for r in rows(warehouse, "issues")]}))
"""


@pytest.mark.slow
def test_processes_share_one_embedded_server_that_outlives_them(tmp_path: Path):
    """Two processes start at once on a fresh state folder: one server, both see all data; it
    keeps running after they exit, and the data survives a restart of the server."""
    env = {k: v for k, v in os.environ.items() if k != WAREHOUSE_URL_VAR}
    env |= {STATE_DIR_VAR: str(tmp_path), SCHEMA_VAR: f"shared_{uuid.uuid4().hex[:8]}"}

    def start(issue_id: str) -> subprocess.Popen:
        command = [sys.executable, "-c", WORKER, issue_id]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)

    def result(process: subprocess.Popen) -> dict:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        return json.loads(out.strip().splitlines()[-1])

    try:
        first, second = [result(p) for p in [start("from-a"), start("from-b")]]
        assert first["server"] == second["server"]
        after_exit = result(start("-"))
        assert after_exit == {"server": first["server"], "ids": ["from-a", "from-b"]}

        embedded.stop_server(tmp_path / EMBEDDED_DIR)
        restarted = result(start("-"))
        assert restarted["server"] != first["server"]
        assert restarted["ids"] == ["from-a", "from-b"]
    finally:
        embedded.stop_server(tmp_path / EMBEDDED_DIR)


def test_the_resource_works_in_a_dagster_run(warehouse: PostgresWarehouse):
    """Configured as the code location configures it: the URL an `EnvVar`, resolved in the run."""

    @dg.asset
    def accounts(warehouse: PostgresWarehouse) -> dg.MaterializeResult:
        warehouse.ensure_tables()
        with warehouse.transaction() as tx:
            loaded = tx.load("accounts", [[{"id": "a1", "name": "From a run"}]])
        return dg.MaterializeResult(metadata={"inserted": loaded.inserted})

    configured = build_warehouse(Settings.from_env(os.environ))
    assert configured.url == dg.EnvVar(WAREHOUSE_URL_VAR)
    assert dg.materialize([accounts], resources={"warehouse": configured}).success
    assert [r["name"] for r in rows(warehouse, "accounts")] == ["From a run"]


@pytest.mark.slow
def test_the_stop_postgres_command_stops_a_leftover_embedded_server(tmp_path: Path):
    data_dir = tmp_path / EMBEDDED_DIR
    embedded.server_url(data_dir)
    assert (data_dir / "postmaster.pid").exists()
    command = [str(Path(sys.executable).with_name("pylon-dagster")), "stop-postgres"]
    env = {**os.environ, "PYLON_DAGSTER_STATE": str(tmp_path)}

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert first.stdout.strip() == "Embedded Postgres stopped.", first.stdout + first.stderr
    assert not (data_dir / "postmaster.pid").exists()
    assert again.stdout.strip() == "It was not running."
