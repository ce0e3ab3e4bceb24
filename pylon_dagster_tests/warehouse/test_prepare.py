"""Preparing the warehouse: every table from a declared spec, the DDL only when the declarations
changed, once however many processes start together, and a warehouse made by older code
accepted and upgraded."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.state_tables import CHILD_FETCH_STATE, SCHEMA_VERSIONS, STATE_TABLES
from pylon_dagster.catalog.tables import TABLES, declared_tables
from pylon_dagster.catalog.tablespec import StateColumn, StateTableSpec, col
from pylon_dagster.warehouse import PostgresWarehouse, ddl
from pylon_dagster.warehouse.bookkeeping import changed_parents
from pylon_dagster.warehouse.engine import connect
from pylon_dagster.warehouse.sql import ident, qualified
from pylon_dagster.warehouse.webhook_events import WebhookEventStore
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_dagster_tests.warehouse.catalog import function_versions, schema_structure, table_names
from pylon_dagster_tests.warehouse.helpers import column, issue, load

MAIN_SCHEMA_SQL = Path(__file__).with_name("main_schema.sql")
MAIN_SCHEMA_NAME = "main_snapshot"
PREPARE_IN_A_NEW_PROCESS = (  # the warehouse the environment names: the test's (its fixture sets it)
    "import os; from pylon_dagster.settings import Settings; "
    "from pylon_dagster.warehouse import PostgresWarehouse; "
    "PostgresWarehouse.from_settings(Settings.from_env(os.environ)).prepare()"
)


def recorded_fingerprints(warehouse: PostgresWarehouse) -> list[str]:
    query = f"SELECT fingerprint FROM {qualified(warehouse.schema_name, SCHEMA_VERSIONS.name)}"
    with warehouse.engine.connect() as connection:
        return list(connection.exec_driver_sql(query).scalars())


@pytest.fixture
def fresh_warehouse(
    embedded_postgres: EmbeddedPostgres, warehouse: PostgresWarehouse
) -> Iterator[PostgresWarehouse]:
    """A second schema on the same server, prepared by the code as it is now."""
    fresh = PostgresWarehouse(
        url=embedded_postgres.url, schema_name=f"{warehouse.schema_name}_fresh"
    )
    fresh.prepare()
    yield fresh
    with fresh.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {ident(fresh.schema_name)} CASCADE")


def test_every_table_in_the_schema_comes_from_a_declared_spec(warehouse: PostgresWarehouse):
    warehouse.prepare()
    declared = {spec.name for spec in declared_tables()}
    assert table_names(warehouse) == declared
    assert set(STATE_TABLES) == {
        "child_fetch_state",
        "webhook_events",
        "pylon_rate_limits",
        "pylon_rate_slots",
        "pylon_rate_429s",
        "deletion_sweep",
        "schema_versions",
    }
    assert recorded_fingerprints(warehouse) == [ddl.fingerprint()]


def test_state_tables_have_their_declared_columns(warehouse: PostgresWarehouse):
    warehouse.prepare()
    query = sa.text(
        "SELECT table_name, column_name, is_nullable, is_identity "
        "FROM information_schema.columns WHERE table_schema = :schema "
        "ORDER BY table_name, ordinal_position"
    )
    found: dict[str, list[tuple[str, bool, bool]]] = {}
    with warehouse.engine.connect() as connection:
        for table, name, nullable, identity in connection.execute(
            query, {"schema": warehouse.schema_name}
        ):
            found.setdefault(table, []).append((name, nullable == "YES", identity == "YES"))
    for spec in STATE_TABLES.values():
        assert found[spec.name] == [(c.name, c.nullable, c.identity) for c in spec.columns]


def test_a_process_finding_its_declarations_recorded_runs_no_ddl(warehouse: PostgresWarehouse):
    """Each preparation here is a process of its own, as every step of a run is."""
    warehouse.prepare()
    created = function_versions(warehouse)
    assert set(created) == {"_jsonb_to_timestamptz", "_jsonb_to_text_array"}

    subprocess.run([sys.executable, "-c", PREPARE_IN_A_NEW_PROCESS], check=True)
    assert function_versions(warehouse) == created
    assert recorded_fingerprints(warehouse) == [ddl.fingerprint()]

    # The control: with the record gone, a new process runs the DDL and records it again.
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql(
            f"DELETE FROM {qualified(warehouse.schema_name, SCHEMA_VERSIONS.name)}"
        )
    subprocess.run([sys.executable, "-c", PREPARE_IN_A_NEW_PROCESS], check=True)
    replaced = function_versions(warehouse)
    assert set(replaced) == set(created)
    assert all(replaced[name] != created[name] for name in created)
    assert recorded_fingerprints(warehouse) == [ddl.fingerprint()]


def test_processes_preparing_together_run_the_ddl_once(warehouse: PostgresWarehouse):
    """Four connections (as four processes would have) prepare an empty warehouse at once."""
    starting = threading.Barrier(4)

    def prepare() -> bool:
        with connect(warehouse.engine) as connection, connection.begin():
            starting.wait()
            return ddl.prepare(connection, warehouse.schema_name)

    with ThreadPoolExecutor(4) as pool:
        ran = list(pool.map(lambda _: prepare(), range(4)))
    assert sorted(ran) == [False, False, False, True]
    assert table_names(warehouse) == {spec.name for spec in declared_tables()}


def test_changed_declarations_are_applied_by_the_next_preparation(
    warehouse: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
):
    warehouse.prepare()
    load(warehouse, "issues", [[issue("i1", "2026-03-01T00:00:00Z", workspace_email="s@x.io")]])
    first = ddl.fingerprint()

    spec = TABLES["issues"]
    monkeypatch.setitem(
        TABLES, "issues", dataclasses.replace(spec, columns=(*spec.columns, col("workspace_email")))
    )
    assert ddl.fingerprint() != first
    warehouse.prepare()  # the same process: its declarations changed, so it prepares again

    assert column(warehouse, "issues", "workspace_email") == {"i1": "s@x.io"}
    assert sorted(recorded_fingerprints(warehouse)) == sorted([first, ddl.fingerprint()])


def test_a_state_column_new_in_a_spec_is_added_with_its_default(
    warehouse: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
):
    warehouse.prepare()
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    store.record(b'{"issue_id": "i1"}', datetime(2026, 3, 1, tzinfo=UTC))
    spec = STATE_TABLES["webhook_events"]
    source = StateColumn("source", "text", default="'pylon'")
    monkeypatch.setitem(
        STATE_TABLES, spec.name, dataclasses.replace(spec, columns=(*spec.columns, source))
    )
    warehouse.prepare()
    with warehouse.engine.connect() as connection:
        query = f"SELECT source FROM {qualified(warehouse.schema_name, spec.name)}"
        assert list(connection.exec_driver_sql(query).scalars()) == ["pylon"]


def test_a_warehouse_made_by_the_previous_code_is_accepted_and_upgraded(
    warehouse: PostgresWarehouse, fresh_warehouse: PostgresWarehouse
):
    """The schema as the code before table specs for the state tables left it (restored from
    `main_schema.sql`), with rows in it, is prepared: nothing is lost, ids go on, and it ends
    exactly like a schema this code made (columns, keys, defaults, indexes, functions)."""
    restore = MAIN_SCHEMA_SQL.read_text().replace(MAIN_SCHEMA_NAME, warehouse.schema_name)
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql(restore)
    assert SCHEMA_VERSIONS.name not in table_names(warehouse)
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    assert store.record(b'{"issue_id": "i1"}', datetime(2026, 3, 1, tzinfo=UTC))
    load(warehouse, "issues", [[issue("i1", "2026-03-01T00:00:00Z")]])
    with warehouse.engine.begin() as connection:  # a fetch as the previous code recorded it
        connection.exec_driver_sql(
            f"INSERT INTO {qualified(warehouse.schema_name, CHILD_FETCH_STATE.name)} "
            "(stream, parent_id, parent_version, fetched_at) "
            "VALUES ('issue_messages', 'i1', '2026-03-01T00:00:00Z', now())"
        )

    warehouse.prepare()

    assert schema_structure(warehouse) == schema_structure(fresh_warehouse)
    assert table_names(warehouse) == {spec.name for spec in declared_tables()}
    assert recorded_fingerprints(warehouse) == [ddl.fingerprint()]
    assert [event.id for event in store.events_after(0, 10, 2**20)] == [1]
    assert store.record(b'{"issue_id": "i2"}', datetime(2026, 3, 2, tzinfo=UTC))
    assert [event.id for event in store.events_after(0, 10, 2**20)] == [1, 2]
    with warehouse.transaction() as tx:  # the fetch bookkeeping kept its row
        start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
        assert (
            changed_parents(tx.connection, tx.schema, "issue_messages", "issues", start, end) == []
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Events"},  # not a plain name
        {"primary_key": ("nope",)},  # not a column
        {"columns": (StateColumn("a", "text"), StateColumn("a", "text"))},  # twice
        {"indexes": {"t_by_b": ("b",)}},  # not a column
        {"indexes": {"T": ("a",)}},  # an index name that is not a plain name
        {"description": "100% state"},  # becomes SQL text
    ],
)
def test_inconsistent_state_specs_are_rejected(changes):
    base = StateTableSpec("t", (StateColumn("a", "text"),), "A table.")
    with pytest.raises(ValueError):
        dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "A", "pg_type": "text"},
        {"name": "a", "pg_type": "varchar"},
        {"name": "a", "pg_type": "text", "identity": True},
        {"name": "a", "pg_type": "bigint", "identity": True, "nullable": True},
    ],
)
def test_inconsistent_state_columns_are_rejected(fields):
    with pytest.raises(ValueError):
        StateColumn(**fields)
