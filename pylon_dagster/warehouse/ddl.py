"""Create the schema and tables from the specs, evolve them additively, and only when needed.

A typed column present in a spec but missing from its table is added and filled from `raw` in the
same transaction, so a new column needs no migration and is complete as soon as it exists (a state
table's new column is added with its default). Other differences (a changed type, a removed
column) are left alone: they would need a decision about existing data. Indexes declared in a spec
(and the implicit ones, see `TableSpec.all_indexes`) are created when their name is missing from
the schema; an existing one is never touched, so changing an index's terms gives it a new name.

The full pass (`ensure_tables`) ends by recording the fingerprint of the declarations (a hash of
the DDL a fresh schema gets) in `schema_versions`. `prepare` looks for the fingerprint first and
skips the DDL when it is recorded: a process whose declarations the schema already matches runs
one query, no DDL. Concurrent callers are serialised by an advisory lock, and one that waited for
it looks again, so the DDL runs once however many processes start together.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

import sqlalchemy as sa

from pylon_dagster.catalog.state_tables import SCHEMA_VERSIONS
from pylon_dagster.catalog.tables import declared_tables
from pylon_dagster.catalog.tablespec import (
    DELETED_AT,
    DESCENDING,
    Index,
    StateColumn,
    StateTableSpec,
    TableSpec,
)
from pylon_dagster.warehouse import casts
from pylon_dagster.warehouse.sql import ident, literal, qualified

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
_FINGERPRINT_SCHEMA = "schema"
"""The schema name the fingerprinted DDL is written for: the fingerprint is the same in every
schema."""


def prepare(connection: sa.Connection, schema: str) -> bool:
    """`ensure_tables`, unless the schema records the fingerprint of the declarations as they are
    now. True when the DDL ran (call inside a transaction)."""
    declared = fingerprint()
    if _recorded(connection, schema, declared):
        return False
    _lock(connection, schema)
    if _recorded(connection, schema, declared):  # prepared while we waited for the lock
        return False
    ensure_tables(connection, schema)
    return True


def fingerprint() -> str:
    """A hash of the DDL a fresh schema gets: it changes with any declared table, column, index
    or cast function."""
    schema = _FINGERPRINT_SCHEMA
    statements = [
        *casts.functions_ddl(schema),
        *(sql for spec in declared_tables() for sql in _create_table_sql(spec, schema)),
        *(_create_index_sql(i, schema) for spec in declared_tables() for i in spec.all_indexes),
    ]
    return hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()


def _recorded(connection: sa.Connection, schema: str, declared: str) -> bool:
    # Not `to_regclass`: it reads the backend's cached catalog, which taking the advisory lock does
    # not refresh, so a table another process created while we waited would still look missing.
    exists = connection.execute(
        sa.text(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = :schema AND tablename = :name"
        ),
        {"schema": schema, "name": SCHEMA_VERSIONS.name},
    ).first()
    if exists is None:
        return False
    table = qualified(schema, SCHEMA_VERSIONS.name)
    query = sa.text(f"SELECT 1 FROM {table} WHERE fingerprint = :fingerprint")
    return connection.execute(query, {"fingerprint": declared}).first() is not None


def _lock(connection: sa.Connection, schema: str) -> None:
    """Held until the transaction ends; taken again by the same transaction, it is already held."""
    connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
        {"name": f"pylon_dagster.ensure_tables:{schema}"},
    )


def ensure_tables(connection: sa.Connection, schema: str) -> None:
    """Make the schema match the specs and record their fingerprint (call inside a transaction)."""
    _lock(connection, schema)
    _ensure_schema(connection, schema)
    existing: dict[str, set[str]] = defaultdict(set)
    for table, column in connection.execute(_EXISTING_COLUMNS, {"schema": schema}):
        existing[table].add(column)

    for statement in casts.functions_ddl(schema):
        connection.exec_driver_sql(statement)
    for spec in declared_tables():
        if spec.name not in existing:
            for statement in _create_table_sql(spec, schema):
                connection.exec_driver_sql(statement)
        elif isinstance(spec, TableSpec):
            _add_missing_columns(connection, spec, schema, existing[spec.name])
        else:
            _add_missing_state_columns(connection, spec, schema, existing[spec.name])
    _create_missing_indexes(connection, schema)
    connection.execute(
        sa.text(
            f"INSERT INTO {qualified(schema, SCHEMA_VERSIONS.name)} (fingerprint) "
            "VALUES (:fingerprint) ON CONFLICT DO NOTHING"
        ),
        {"fingerprint": fingerprint()},
    )


def _ensure_schema(connection: sa.Connection, schema: str) -> None:
    schema_exists = connection.execute(
        sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    if not schema_exists:
        # Only when missing: CREATE SCHEMA IF NOT EXISTS would still need the CREATE privilege.
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")


def _create_table_sql(spec: TableSpec | StateTableSpec, schema: str) -> list[str]:
    table = qualified(schema, spec.name)
    if isinstance(spec, TableSpec):
        columns = _record_columns_sql(spec)
    else:
        columns = [_state_column_sql(c) for c in spec.columns]
    if spec.primary_key:
        columns.append(f"PRIMARY KEY ({', '.join(ident(k) for k in spec.primary_key)})")
    return [
        f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n)",
        f"COMMENT ON TABLE {table} IS {literal(spec.description)}",
    ]


def _record_columns_sql(spec: TableSpec) -> list[str]:
    columns = [f"{ident(spec.key)} text NOT NULL"]
    if spec.parent_key:
        columns.append(f"{ident(spec.parent_key)} text NOT NULL")
    columns += [f"{ident(c.name)} {c.pg_type}" for c in spec.columns]
    columns += ["raw jsonb NOT NULL", "_synced_at timestamptz NOT NULL"]
    if spec.soft_delete:
        columns.append(f"{ident(DELETED_AT)} timestamptz")
    return columns


def _state_column_sql(column: StateColumn) -> str:
    words = [ident(column.name), column.pg_type]
    if column.identity:
        words.append("GENERATED ALWAYS AS IDENTITY")
    if not column.nullable:
        words.append("NOT NULL")
    if column.default is not None:
        words.append(f"DEFAULT {column.default}")
    if column.unique:
        words.append("UNIQUE")
    return " ".join(words)


def _create_missing_indexes(connection: sa.Connection, schema: str) -> None:
    """Only the missing ones: even `IF NOT EXISTS` would wait for a lock that loads hold."""
    present = set(connection.execute(_EXISTING_INDEXES, {"schema": schema}).scalars())
    for spec in declared_tables():
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


def _add_missing_state_columns(
    connection: sa.Connection, spec: StateTableSpec, schema: str, present: set[str]
) -> None:
    missing = [c for c in spec.columns if c.name not in present]
    if not missing:
        return
    table = qualified(schema, spec.name)
    connection.exec_driver_sql(
        f"ALTER TABLE {table} " + ", ".join(f"ADD COLUMN {_state_column_sql(c)}" for c in missing)
    )
    log.info("%s: added %s", table, ", ".join(c.name for c in missing))
