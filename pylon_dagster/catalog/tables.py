"""The warehouse tables: every stream's table (declared in `streams.py`), the history of `issues`
and the metric tables (`metric_tables.py`). The DDL, the loader and the bookkeeping look tables up
here by name. With the state tables
(`state_tables.py`) they are every table the warehouse schema holds."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.catalog.metric_tables import METRIC_TABLES
from pylon_dagster.catalog.state_tables import STATE_TABLES
from pylon_dagster.catalog.streams import ISSUES_HISTORY, STREAMS
from pylon_dagster.catalog.tablespec import StateTableSpec, TableSpec, column_schema

TABLES: dict[str, TableSpec] = {
    **{stream.name: stream.table for stream in STREAMS.values()},
    ISSUES_HISTORY.name: ISSUES_HISTORY,
    **{spec.name: spec for spec in METRIC_TABLES},
}


def declared_tables() -> list[TableSpec | StateTableSpec]:
    """Every table of the warehouse schema: the record tables, then the state tables."""
    return [*TABLES.values(), *STATE_TABLES.values()]


def table_spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"no warehouse table {table!r}; known: {', '.join(TABLES)}") from None


def table_schema(table: str) -> dg.TableSchema:
    """The Dagster column schema of a table, shown in the asset catalog."""
    return column_schema(table_spec(table))
