"""Loading records: COPY into a staging table, then one set-based statement per write mode.

Everything runs in the caller's transaction (`PostgresWarehouse.transaction()`): a failure at any
point, including an exception raised by the batches iterator halfway, leaves the tables as they
were. Memory stays bounded: each record is encoded and written to COPY as its batch arrives.

Only (arrival order, key, parent key, raw) are copied. Typed columns are computed in SQL from
`raw` (`casts.py`), the same expressions that fill a column added later, so there is a single
definition of every column.

A key may arrive more than once in one load (the same issue in two overlapping search windows);
the newest version wins: the highest `version` (the spec's timestamp column), then the last seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from pylon_dagster.warehouse.casts import typed_value, typed_values
from pylon_dagster.warehouse.sanitize import clean_text, encode_record
from pylon_dagster.warehouse.sql import ident, qualified
from pylon_dagster.warehouse.tables import TableSpec, WriteMode, table_spec

Record = Mapping[str, Any]
STAGING = "pg_temp.pylon_staging"


@dataclass(frozen=True)
class ChildBatch:
    """All the children of one parent: they replace the parent's stored children."""

    parent_id: str
    records: Sequence[Record]


@dataclass(frozen=True)
class LoadResult:
    received: int = 0
    """Records in the batches (a key that came twice counts twice)."""
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    """Distinct keys whose stored row was kept: the same raw, or a stored version newer than the
    one received (merge with a version column), or (append) a version already stored."""
    deleted: int = 0
    """Rows removed: gone from a full-refresh snapshot, or from a named parent's children."""
    sanitized: int = 0
    """Records changed by the sanitising rule (see `sanitize.py`)."""


class LoadTransaction:
    """One warehouse transaction: `load` as often as needed; `connection` for anything else."""

    def __init__(self, connection: sa.Connection, schema: str):
        self.connection = connection
        self.schema = schema

    def load(
        self, table: str, batches: Iterable[Sequence[Record]] | Iterable[ChildBatch]
    ) -> LoadResult:
        """Load `batches` into `table` according to its write mode.

        Merge and full-refresh tables take pages of records (`list[dict]`); child tables take
        `ChildBatch`es.
        """
        spec = table_spec(table)
        received, sanitized = self._stage(spec, batches)
        if spec.mode is WriteMode.APPEND:
            inserted, unchanged = self._append(spec)
            result = LoadResult(received, inserted, 0, unchanged, 0, sanitized)
        else:
            inserted, updated, distinct = self._upsert(spec)
            deleted = 0 if spec.mode is WriteMode.MERGE else self._delete_missing(spec)
            result = LoadResult(
                received, inserted, updated, distinct - inserted - updated, deleted, sanitized
            )
        if spec.history:
            self._append(table_spec(spec.history))
        self.connection.exec_driver_sql(f"DROP TABLE {STAGING}")
        return result

    def _stage(self, spec: TableSpec, batches: Iterable[Any]) -> tuple[int, int]:
        """COPY the records into a fresh staging table; (records received, records sanitised)."""
        self.connection.exec_driver_sql(
            f"CREATE TEMP TABLE {STAGING.removeprefix('pg_temp.')} "
            "(seq bigint NOT NULL, key text, parent text, raw jsonb) "
            # Records up to a page stay inline and uncompressed: computing the typed columns then
            # reads `raw` in place, instead of decompressing it once per column.
            "WITH (toast_tuple_target = 8160) ON COMMIT DROP"
        )
        received = sanitized = 0
        driver_connection = self.connection.connection.driver_connection
        with (
            driver_connection.cursor() as cursor,
            cursor.copy(f"COPY {STAGING} (seq, key, parent, raw) FROM STDIN") as copy,
        ):
            for parent_id, records in _records_by_parent(spec, batches):
                if parent_id is not None:
                    # A row without a key names the parent even when it has no children left.
                    copy.write_row((0, None, parent_id, None))
                for record in records:
                    raw, changed = encode_record(record)
                    received += 1
                    sanitized += changed
                    copy.write_row((received, _key(spec, record), parent_id, raw))
        return received, sanitized

    def _upsert(self, spec: TableSpec) -> tuple[int, int, int]:
        """Insert new keys, update changed rows; (inserted, updated, distinct keys staged)."""
        table = qualified(self.schema, spec.name)
        names = spec.column_names
        changed = [
            f"t.{ident(n)} IS DISTINCT FROM EXCLUDED.{ident(n)}"
            for n in ("raw", spec.parent_key)
            if n
        ]
        guard = "(" + " OR ".join(changed) + ")"
        if spec.version:
            version = ident(spec.version)
            guard += f" AND (t.{version} IS NULL OR EXCLUDED.{version} >= t.{version})"
        query = f"""
            WITH written AS (
                INSERT INTO {table} AS t ({", ".join(map(ident, names))})
                {self._newest_rows(spec)}
                ON CONFLICT ({ident(spec.key)}) DO UPDATE
                    SET {", ".join(f"{ident(n)} = EXCLUDED.{ident(n)}" for n in names[1:])}
                    WHERE {guard}
                RETURNING t.xmax = 0 AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
                (SELECT count(DISTINCT key) FROM {STAGING})
            FROM written
        """
        inserted, updated, distinct = self.connection.exec_driver_sql(query).one()
        return inserted, updated, distinct

    def _delete_missing(self, spec: TableSpec) -> int:
        """Full refresh: every row not staged. Per parent: rows of a named parent not staged."""
        key = ident(spec.key)
        condition = f"NOT EXISTS (SELECT FROM {STAGING} AS s WHERE s.key = t.{key})"
        if spec.parent_key:
            condition += f" AND t.{ident(spec.parent_key)} IN (SELECT parent FROM {STAGING})"
        query = f"DELETE FROM {qualified(self.schema, spec.name)} AS t WHERE {condition}"
        return self.connection.exec_driver_sql(query).rowcount

    def _append(self, spec: TableSpec) -> tuple[int, int]:
        """Insert the versions not stored yet; (inserted, distinct versions staged)."""
        version = self._version_value(spec)
        query = f"""
            WITH written AS (
                INSERT INTO {qualified(self.schema, spec.name)} ({", ".join(map(ident, spec.column_names))})
                {self._newest_rows(spec, per_version=True)}
                ON CONFLICT ({", ".join(map(ident, spec.primary_key))}) DO NOTHING
                RETURNING 1
            )
            SELECT count(*), (
                SELECT count(*) FROM (
                    SELECT DISTINCT s.key, {version} FROM {STAGING} AS s
                    WHERE s.key IS NOT NULL AND {version} IS NOT NULL
                ) AS versions
            )
            FROM written
        """
        inserted, distinct = self.connection.exec_driver_sql(query).one()
        return inserted, distinct - inserted

    def _newest_rows(self, spec: TableSpec, *, per_version: bool = False) -> str:
        """SELECT of the rows to write, in table column order: for each key (and version, when
        `per_version`) the newest staged record.

        The winners are picked on narrow (key, version, seq) tuples and joined back, so the wide
        rows are read once and never sorted.
        """
        version = self._version_value(spec)
        values = [
            "s.key",
            *(["s.parent"] if spec.parent_key else []),
            *typed_values(spec.columns, self.schema, "s.raw"),
            "s.raw",
            "now()",
        ]
        if version and not per_version:
            newest = (
                f"SELECT DISTINCT ON (s.key) s.seq FROM {STAGING} AS s WHERE s.key IS NOT NULL "
                f"ORDER BY s.key, {version} DESC NULLS LAST, s.seq DESC"
            )
        else:
            groups = ["s.key", *([version] if per_version else [])]
            newest = (
                f"SELECT max(s.seq) FROM {STAGING} AS s "
                f"WHERE {' AND '.join(f'{g} IS NOT NULL' for g in groups)} "
                f"GROUP BY {', '.join(groups)}"
            )
        return f"SELECT {', '.join(values)} FROM {STAGING} AS s WHERE s.seq IN ({newest})"

    def _version_value(self, spec: TableSpec) -> str | None:
        """The staged record's version, as SQL (None: the table has no version column)."""
        if spec.version is None:
            return None
        column = next(c for c in spec.columns if c.name == spec.version)
        return typed_value(column, self.schema, "s.raw")


def _records_by_parent(
    spec: TableSpec, batches: Iterable[Any]
) -> Iterator[tuple[str | None, Sequence[Record]]]:
    """(parent id, records) per batch; checks that the batches fit the table."""
    for batch in batches:
        if isinstance(batch, ChildBatch) != (spec.parent_key is not None):
            expected = "ChildBatch" if spec.parent_key else "lists of records"
            raise TypeError(f"{spec.name} is loaded from {expected}, not {type(batch).__name__}")
        if isinstance(batch, ChildBatch):
            yield batch.parent_id, batch.records
        else:
            yield None, batch


def _key(spec: TableSpec, record: Record) -> str:
    value = record.get(spec.key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(
            f"{spec.name}: a record has no usable {spec.key!r} (got {value!r:.80}); "
            "records without a key cannot be stored"
        )
    return clean_text(str(value))
