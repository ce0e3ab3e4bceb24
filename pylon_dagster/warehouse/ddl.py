"""Create the schema and tables from the specs, and evolve them additively.

A typed column present in a spec but missing from its table is added and filled from `raw` in the
same transaction, so a new column needs no migration and is complete as soon as it exists. Other
differences (a changed type, a removed column) are left alone: they would need a decision about
existing data. Indexes declared in a spec (and the implicit ones, see `TableSpec.all_indexes`) are
created when their stable name is missing from the schema; an existing one is never touched, so
changing an index's terms gives it a new name. Concurrent callers (every asset run calls this) are
serialised by an advisory lock.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa

from pylon_dagster.tablespec import DELETED_AT, DESCENDING, Index, TableSpec
from pylon_dagster.warehouse import bookkeeping, casts
from pylon_dagster.warehouse.sql import ident, literal, qualified
from pylon_dagster.warehouse.tables import TABLES

log = logging.getLogger(__name__)

_EXISTING_COLUMNS = sa.text(
    """
    SELECT c.relname, a.attname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')
    """
)
_EXISTING_INDEXES = sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = :schema")


def ensure_tables(connection: sa.Connection, schema: str) -> None:
    """Make the schema match the specs (call inside a transaction)."""
    connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
        {"name": f"pylon_dagster.ensure_tables:{schema}"},
    )
    ensure_schema(connection, schema)
    existing: dict[str, set[str]] = defaultdict(set)
    for table, column in connection.execute(_EXISTING_COLUMNS, {"schema": schema}):
        existing[table].add(column)

    for statement in casts.functions_ddl(schema):
        connection.exec_driver_sql(statement)
    for spec in TABLES.values():
        if spec.name not in existing:
            for statement in _create_table_sql(spec, schema):
                connection.exec_driver_sql(statement)
        else:
            _add_missing_columns(connection, spec, schema, existing[spec.name])
    if bookkeeping.FETCH_STATE_TABLE not in existing:
        connection.exec_driver_sql(bookkeeping.create_table_sql(schema))
    _create_missing_indexes(connection, schema)


def ensure_schema(connection: sa.Connection, schema: str) -> None:
    schema_exists = connection.execute(
        sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    if not schema_exists:
        # Only when missing: CREATE SCHEMA IF NOT EXISTS would still need the CREATE privilege.
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")


def _create_table_sql(spec: TableSpec, schema: str) -> list[str]:
    table = qualified(schema, spec.name)
    columns = [f"{ident(spec.key)} text NOT NULL"]
    if spec.parent_key:
        columns.append(f"{ident(spec.parent_key)} text NOT NULL")
    columns += [f"{ident(c.name)} {c.pg_type}" for c in spec.columns]
    columns += ["raw jsonb NOT NULL", "_synced_at timestamptz NOT NULL"]
    if spec.soft_delete:
        columns.append(f"{ident(DELETED_AT)} timestamptz")
    columns.append(f"PRIMARY KEY ({', '.join(ident(k) for k in spec.primary_key)})")
    return [
        f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n)",
        f"COMMENT ON TABLE {table} IS {literal(spec.description)}",
    ]


def _create_missing_indexes(connection: sa.Connection, schema: str) -> None:
    """Only the missing ones: even `IF NOT EXISTS` would wait for a lock that loads hold."""
    present = set(connection.execute(_EXISTING_INDEXES, {"schema": schema}).scalars())
    for spec in TABLES.values():
        for index in spec.all_indexes:
            if index.name not in present:
                connection.exec_driver_sql(_create_index_sql(index, schema))
                log.info("%s: created index %s", qualified(schema, spec.name), index.name)


def _create_index_sql(index: Index, schema: str) -> str:
    keys = ", ".join(
        ident(column) + (DESCENDING if descending else "") for column, descending in index.keys
    )
    return (
        f"CREATE INDEX IF NOT EXISTS {ident(index.name)} "
        f"ON {qualified(schema, index.table)} ({keys})"
    )


def _add_missing_columns(
    connection: sa.Connection, spec: TableSpec, schema: str, present: set[str]
) -> None:
    if spec.soft_delete and DELETED_AT not in present:
        # Nothing was ever marked deleted before the column existed: NULL for every row.
        connection.exec_driver_sql(
            f"ALTER TABLE {qualified(schema, spec.name)} ADD COLUMN {ident(DELETED_AT)} timestamptz"
        )
        log.info("%s: added %s", qualified(schema, spec.name), DELETED_AT)
    missing = [c for c in spec.columns if c.name not in present]
    if not missing:
        return
    table = qualified(schema, spec.name)
    connection.exec_driver_sql(
        f"ALTER TABLE {table} "
        + ", ".join(f"ADD COLUMN {ident(c.name)} {c.pg_type}" for c in missing)
    )
    assignments = ", ".join(f"{ident(c.name)} = {casts.typed_value(c, schema)}" for c in missing)
    filled = connection.exec_driver_sql(f"UPDATE {table} SET {assignments}").rowcount
    log.info(
        "%s: added %s, filled from raw for %d rows",
        table,
        ", ".join(c.name for c in missing),
        filled,
    )
