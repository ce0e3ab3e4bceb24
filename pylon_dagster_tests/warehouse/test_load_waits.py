"""The bounds of a load's waits, read back from the real Postgres inside a load's transaction."""

from __future__ import annotations

from pylon_dagster.warehouse import PostgresWarehouse


def test_a_load_transaction_waits_at_most_its_bounds(warehouse: PostgresWarehouse):
    warehouse.ensure_tables()
    with warehouse.connection() as connection:
        lock, statement = (
            connection.exec_driver_sql(f"SHOW {name}").scalar_one()
            for name in ("lock_timeout", "statement_timeout")
        )
    assert (lock, statement) == ("10min", "1h")
    with warehouse.engine.connect() as other:  # a bound of the transaction only
        assert other.exec_driver_sql("SHOW lock_timeout").scalar_one() == "0"
