"""The warehouse as pandas DataFrames: reading tables and queries, and rows back into records.

Timestamps are read as UTC; one Python's datetime cannot hold (a BC date, a year past 9999) is
read as missing (NaT), like everywhere else the project turns warehouse rows into Python values.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.catalog.tablespec import TableSpec
from pylon_dagster.warehouse.sql import ident, literal, python_timestamp, qualified

ColumnKind = Literal["text", "category", "number", "time"]
COPY_NULL = "\\N"
"""How COPY writes NULL: unquoted, while every value is quoted (FORCE_QUOTE)."""
_CSV_TYPES = {"text": "str", "category": "category", "number": "float64", "time": "Int64"}


def read_frame(
    connection: sa.Connection, query: str, params: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The rows of `query` (bound `:name` parameters) as a DataFrame."""
    return pd.read_sql(sa.text(query), connection, params=dict(params or {}))


def copy_frame(
    connection: sa.Connection,
    query: str,
    params: Mapping[str, Any],
    columns: Mapping[str, ColumnKind],
) -> pd.DataFrame:
    """The rows of `query` (bound `:name` parameters) as a DataFrame, like `read_frame`, read
    through `COPY ... TO STDOUT` as CSV and parsed by pandas' C parser: for results of millions
    of rows, where building a Python row of each is most of the time and memory.

    `columns`: each column of the result and its kind. Text comes back as strings (missing for
    NULL, "" for an empty string), numbers as float64, times (timestamptz) as UTC datetimes: the
    types `read_frame` gives them; `category` is text as a categorical of those strings (for a
    column of few distinct values in millions of rows: a fraction of the memory). COPY takes no
    parameters: they are written into the query as SQL literals (lists as text arrays)."""
    bound = sa.text(query).bindparams(
        *(
            sa.bindparam(name, value, type_=postgresql.ARRAY(sa.Text))
            if isinstance(value, list)
            else sa.bindparam(name, value)
            for name, value in params.items()
        )
    )
    inlined = bound.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    selected = ", ".join(_copied(name, kind) for name, kind in columns.items())
    copy = (
        f"COPY (SELECT {selected} FROM ({inlined}) AS q) TO STDOUT "
        f"WITH (FORMAT csv, HEADER, NULL {literal(COPY_NULL)}, FORCE_QUOTE *)"
    )
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(copy) as rows:
        frame = pd.read_csv(
            io.BufferedReader(_CopyStream(iter(rows))),
            dtype={name: _CSV_TYPES[kind] for name, kind in columns.items()},
            keep_default_na=False,
            na_values=[COPY_NULL],
        )
    for name, kind in columns.items():
        if kind == "time":
            frame[name] = pd.to_datetime(frame[name], unit="us", utc=True)
    return frame


def _copied(name: str, kind: ColumnKind) -> str:
    """The column as COPY writes it: a time as microseconds since the epoch, exact."""
    column = f"q.{ident(name)}"
    if kind == "time":
        return f"(extract(epoch FROM {column}) * 1000000)::bigint AS {ident(name)}"
    return column


class _CopyStream(io.RawIOBase):
    """The chunks of a COPY as a readable stream: pandas parses while the rows arrive, never
    holding all of them as text."""

    def __init__(self, chunks: Iterator[Any]):
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = bytes(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


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
