"""The warehouse as pandas DataFrames: reading tables and queries, and rows back into records.

Timestamps are read as UTC; one Python's datetime cannot hold (a BC date, a year past 9999) is
read as missing (NaT), like everywhere else the project turns warehouse rows into Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pylon_dagster.tablespec import TableSpec
from pylon_dagster.warehouse.sql import ident, python_timestamp, qualified
from pylon_dagster.warehouse.tables import table_spec


def read_frame(
    connection: sa.Connection, query: str, params: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The rows of `query` (bound `:name` parameters) as a DataFrame."""
    return pd.read_sql(sa.text(query), connection, params=dict(params or {}))


def read_table(
    connection: sa.Connection, schema: str, table: str, partition_key: str | None = None
) -> pd.DataFrame:
    """Every row of a warehouse table, or only those of one daily partition (`YYYY-MM-DD`)."""
    spec = table_spec(table)
    columns = ", ".join(_readable(spec, name) for name in spec.column_names)
    query = f"SELECT {columns} FROM {qualified(schema, table)}"
    params: dict[str, Any] = {}
    if partition_key is not None:
        condition, params = _partition_filter(spec, partition_key)
        query += f" WHERE {condition}"
    return read_frame(connection, query + f" ORDER BY {ident(spec.key)}", params)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of `frame` as JSON-ready records: Python numbers and strings, None for missing."""
    plain = frame.astype(object)
    return plain.where(frame.notna(), None).to_dict("records")


def _readable(spec: TableSpec, name: str) -> str:
    timestamps = {c.name for c in spec.columns if c.pg_type == "timestamptz"} | {"_synced_at"}
    column = ident(name)
    return f"{python_timestamp(column)} AS {column}" if name in timestamps else column


def _partition_filter(spec: TableSpec, partition_key: str) -> tuple[str, dict[str, Any]]:
    if spec.partition_column is None:
        raise ValueError(f"{spec.name} has no daily partitions: read it without a partition key")
    try:
        day = date.fromisoformat(partition_key)
    except ValueError:
        raise ValueError(f"partition key {partition_key!r} is not a day (YYYY-MM-DD)") from None
    column = ident(spec.partition_column)
    if spec.partition_column == spec.parent_key:
        return f"{column} = :day", {"day": day.isoformat()}
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"{column} >= :start AND {column} < :end", {"start": start, "end": start + timedelta(1)}
