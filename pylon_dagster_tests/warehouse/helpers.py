"""Small helpers for the warehouse tests: load in one transaction, read a table back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pylon_dagster.catalog.tables import TABLES, table_spec
from pylon_dagster.warehouse import LoadResult, PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified


def load(warehouse: PostgresWarehouse, table: str, batches: Iterable[Any]) -> LoadResult:
    with warehouse.transaction() as tx:
        return tx.load(table, batches)


def rows(warehouse: PostgresWarehouse, table: str) -> list[dict[str, Any]]:
    """Every row of `table`, all columns, in primary key order."""
    order = ", ".join(TABLES[table].primary_key) if table in TABLES else "1, 2"
    with warehouse.transaction() as tx:
        result = tx.connection.exec_driver_sql(
            f"SELECT * FROM {qualified(warehouse.schema_name, table)} ORDER BY {order}"
        )
        return [dict(row._mapping) for row in result]


def column(warehouse: PostgresWarehouse, table: str, name: str) -> dict[str, Any]:
    """{key: value of `name`} for every row of `table`."""
    key = table_spec(table).key
    return {row[key]: row[name] for row in rows(warehouse, table)}


def issue(issue_id: str, updated_at: str, **fields: Any) -> dict[str, Any]:
    return {"id": issue_id, "title": f"Issue {issue_id}", "updated_at": updated_at, **fields}
