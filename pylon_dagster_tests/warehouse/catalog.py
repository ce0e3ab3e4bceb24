"""What Postgres' catalog says a warehouse schema holds, with the schema's name left out, so two
schemas can be compared."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pylon_dagster.warehouse import PostgresWarehouse

_COLUMNS = """
    SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
        a.attidentity, pg_get_expr(d.adbin, d.adrelid)
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = to_regnamespace(:schema) AND c.relkind = 'r'
        AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum
"""
_CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE connamespace = to_regnamespace(:schema) ORDER BY 1, 2
"""
_INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :schema"
_FUNCTIONS = """
    SELECT proname, pg_get_functiondef(oid) FROM pg_proc
    WHERE pronamespace = to_regnamespace(:schema) ORDER BY proname
"""
_SEQUENCES = """
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = to_regnamespace(:schema) AND c.relkind = 'S' ORDER BY 1
"""


def schema_structure(warehouse: PostgresWarehouse) -> dict[str, Any]:
    """Columns (position, name, type, not null, identity, default), constraints, indexes,
    functions and sequences of the warehouse's schema; table comments are left out."""
    schema = warehouse.schema_name
    with warehouse.engine.connect() as connection:

        def read(query: str) -> list[tuple[Any, ...]]:
            rows = connection.execute(sa.text(query), {"schema": schema}).all()
            return sorted(
                tuple(
                    value.replace(f"{schema}.", "") if isinstance(value, str) else value
                    for value in row
                )
                for row in rows
            )

        return {
            "columns": read(_COLUMNS),
            "constraints": read(_CONSTRAINTS),
            "indexes": read(_INDEXES),
            "functions": read(_FUNCTIONS),
            "sequences": read(_SEQUENCES),
        }


def table_names(warehouse: PostgresWarehouse) -> set[str]:
    """Every table and view of the schema, as `information_schema.tables` lists them."""
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"
    with warehouse.engine.connect() as connection:
        return set(connection.execute(sa.text(query), {"schema": warehouse.schema_name}).scalars())


def function_versions(warehouse: PostgresWarehouse) -> dict[str, str]:
    """{function: the transaction id that last wrote its catalog row}: `CREATE OR REPLACE
    FUNCTION` writes a new one even when nothing in the function changed."""
    query = "SELECT proname, xmin::text FROM pg_proc WHERE pronamespace = to_regnamespace(:schema)"
    with warehouse.engine.connect() as connection:
        return dict(connection.execute(sa.text(query), {"schema": warehouse.schema_name}).all())
