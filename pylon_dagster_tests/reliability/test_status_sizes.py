"""`status` estimates the rows of a large table instead of counting them, and counts the rest."""

import sqlalchemy as sa

from pylon_dagster.catalog.streams import STREAMS
from pylon_dagster.status.collect import _table_facts
from pylon_dagster.status.sizes import estimated_rows
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import ident, qualified

LARGE = 400_000
"""Rows of a single integer column: over `EXACT_BELOW_BYTES` on disk."""


def test_a_large_table_is_estimated_once_postgres_has_statistics(warehouse: PostgresWarehouse):
    schema = warehouse.schema_name
    large, small = qualified(schema, "large"), qualified(schema, "small")
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {ident(schema)}")
        connection.exec_driver_sql(f"CREATE TABLE {large} AS SELECT generate_series(1, {LARGE}) n")
        connection.exec_driver_sql(f"CREATE TABLE {small} AS SELECT generate_series(1, 10) n")

    with warehouse.engine.connect() as connection:
        # Never vacuumed nor analyzed: no estimate, so `status` counts it.
        assert "large" not in estimated_rows(connection, schema)
    with warehouse.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM ANALYZE {large}, {small}")
        connection.execute(sa.text(f"INSERT INTO {large} SELECT generate_series(1, {LARGE})"))

    with warehouse.engine.connect() as connection:
        estimates = estimated_rows(connection, schema)
    assert set(estimates) == {"large"}  # the small table is counted
    # Scaled by the table's size now, not the one of the last vacuum.
    assert abs(estimates["large"] - 2 * LARGE) < LARGE / 10


def test_an_estimated_table_is_not_counted_and_says_so(warehouse: PostgresWarehouse):
    warehouse.ensure_tables()
    schema = warehouse.schema_name
    tables = set(STREAMS)
    with warehouse.engine.connect() as connection:
        for name in ("issues", "issue_messages"):  # with and without `updated_at`
            facts = _table_facts(connection, schema, STREAMS[name], tables, estimate=1234)
            assert (facts.rows, facts.rows_estimated) == (1234, True), name
            counted = _table_facts(connection, schema, STREAMS[name], tables, estimate=None)
            assert (counted.rows, counted.rows_estimated) == (0, False), name
