"""SQL text helpers: quoting and qualified names.

Every identifier in generated SQL goes through `ident` and every constant through `literal`;
record data never becomes SQL text (it travels through COPY or bound parameters). Names are plain
lower-case identifiers (`is_plain_name`), so generated SQL never contains the `%` or `:` that the
driver and SQLAlchemy would read as placeholders.
"""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted identifier: safe for any name, and exact about case."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def literal(text: str) -> str:
    """A quoted string constant (standard_conforming_strings: only `'` needs doubling)."""
    return "'" + text.replace("'", "''") + "'"


def python_timestamp(expression: str) -> str:
    """`expression` (a timestamptz) where Python's datetime can hold it, else NULL: Postgres
    stores BC dates and years past 9999, which a driver cannot turn into a datetime."""
    return f"CASE WHEN {expression} BETWEEN '0001-01-02' AND '9999-12-30' THEN {expression} END"
