"""SQL text helpers: quoting, and the warehouse schema a connection is working in.

Every identifier in generated SQL goes through `ident` and every constant through `literal`;
record data never becomes SQL text (it travels through COPY or bound parameters). Names are plain
lower-case identifiers (`is_plain_name`), so generated SQL never contains the `%` or `:` that the
driver and SQLAlchemy would read as placeholders.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

_SCHEMA_INFO_KEY = "pylon_dagster.warehouse_schema"


def ident(name: str) -> str:
    """A quoted identifier: safe for any name, and exact about case."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def literal(text: str) -> str:
    """A quoted string constant (standard_conforming_strings: only `'` needs doubling)."""
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def bound_schema(connection: sa.Connection, schema: str) -> Iterator[None]:
    """Bind the warehouse schema to a connection for one transaction.

    Helpers that only get the connection (bookkeeping) find the tables through it. The binding is
    removed on exit because `connection.info` outlives the checkout from the pool.
    """
    connection.info[_SCHEMA_INFO_KEY] = schema
    try:
        yield
    finally:
        connection.info.pop(_SCHEMA_INFO_KEY, None)


def schema_of(connection: sa.Connection) -> str:
    try:
        return connection.info[_SCHEMA_INFO_KEY]
    except KeyError:
        raise RuntimeError(
            "This connection is not in a warehouse transaction: use the one from "
            "`PostgresWarehouse.transaction()` (`tx.connection`)."
        ) from None


def python_timestamp(expression: str) -> str:
    """`expression` (a timestamptz) where Python's datetime can hold it, else NULL: Postgres
    stores BC dates and years past 9999, which a driver cannot turn into a datetime."""
    return f"CASE WHEN {expression} BETWEEN '0001-01-02' AND '9999-12-30' THEN {expression} END"
