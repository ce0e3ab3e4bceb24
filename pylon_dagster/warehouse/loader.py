"""Loading records: COPY into a staging table, then one set-based statement per write mode.

Everything runs in the caller's transaction (`PostgresWarehouse.transaction()`): a failure at any
point, including an exception raised by the batches iterator halfway, leaves the tables as they
were. Memory stays bounded: each record is encoded and written to COPY as its batch arrives.

Only (arrival order, key, parent key, raw) are copied. The typed columns are generated columns of
the staging table, defined by the same expressions (`casts.py`) that fill a column added to a
table later, so each column has a single definition. Postgres computes them, and compresses
`raw`, while the COPY streams, in parallel with the client encoding the next records; the final
INSERT then only moves finished values (a compressed `raw` is stored as is).

A key may arrive more than once in one load (the same issue in two overlapping search windows);
the newest version wins: the highest `version` (the spec's timestamp column), then the last seen.

A record without a usable key (missing, empty, not a string or integer, or longer than
`MAX_KEY_LENGTH`) cannot be stored, and failing the load for it would block its stream on every
run until Pylon fixes the record. It is rejected instead: skipped, counted in `LoadResult.rejected`
(`rows_rejected` in the materialization's metadata), and named in one warning per load, in the
run's event log, with the stream, the count, why and the first one's field names (not its values).
The rest of the load goes on as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.catalog.tablespec import DELETED_AT, Column, TableSpec, WriteMode
from pylon_dagster.warehouse.casts import typed_value
from pylon_dagster.warehouse.sanitize import clean_text, encode_record
from pylon_dagster.warehouse.sql import ident, qualified

Record = Mapping[str, Any]
STAGING = "pg_temp.pylon_staging"
MAX_KEY_LENGTH = 512
"""Longest key stored (Pylon's are 36-character UUIDs); a btree index entry holds about 2.7 kB."""
# COPY's text format, written directly: quicker than the driver's row-by-row formatting, and the
# JSON is encoded to UTF-8 only once (see `sanitize.encode_record`).
NULL = b"\\N"
_log = dg.get_dagster_logger(__name__)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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
    rejected: int = 0
    """Records skipped for want of a usable key (see the module's docstring)."""


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
        history = table_spec(spec.history) if spec.history else None
        self._create_staging(staged_columns(spec, history))
        received, sanitized, rejected = self._copy(spec, batches)
        # Statistics let the planner pick index lookups for a small load into a big table.
        self.connection.exec_driver_sql(f"ANALYZE {STAGING} (seq, key, parent)")
        if spec.mode is WriteMode.APPEND:
            inserted, unchanged = self._append(spec)
            result = LoadResult(received, inserted, 0, unchanged, 0, sanitized, rejected)
        else:
            inserted, updated, distinct = self._upsert(spec)
            deleted = 0 if spec.mode is WriteMode.MERGE else self._delete_missing(spec)
            unchanged = distinct - inserted - updated
            result = LoadResult(
                received, inserted, updated, unchanged, deleted, sanitized, rejected
            )
        if history:
            self._append(history)
        self.connection.exec_driver_sql(f"DROP TABLE {STAGING}")
        return result

    def _create_staging(self, columns: Sequence[Column]) -> None:
        """A temp table for the records, their typed columns generated as they arrive."""
        generated = [
            f"{ident(c.name)} {c.pg_type} GENERATED ALWAYS AS ({typed_value(c, self.schema)}) STORED"
            for c in columns
        ]
        definition = ", ".join(["seq bigint NOT NULL", "key text", "parent text", "raw jsonb"])
        self.connection.exec_driver_sql(
            f"CREATE TEMP TABLE {STAGING.removeprefix('pg_temp.')} "
            f"({', '.join([definition, *generated])}) "
            "ON COMMIT DROP"
        )

    def _copy(self, spec: TableSpec, batches: Iterable[Any]) -> tuple[int, int, int]:
        """COPY the records into staging; (records received, sanitised, rejected)."""
        received = sanitized = 0
        rejected = _Rejected(spec)
        driver_connection = self.connection.connection.driver_connection
        with (
            driver_connection.cursor() as cursor,
            cursor.copy(f"COPY {STAGING} (seq, key, parent, raw) FROM STDIN") as copy,
        ):
            for parent_id, records in _records_by_parent(spec, batches):
                parent = NULL if parent_id is None else _copy_text(parent_id)
                # A row without a key names the parent even when it has no children left.
                lines = [] if parent_id is None else [b"0\t%s\t%s\t%s\n" % (NULL, parent, NULL)]
                for record in records:
                    received += 1
                    record_key = _usable_key(spec, record)
                    if record_key is None:
                        rejected.add(record)
                        continue
                    raw, changed = encode_record(record)
                    sanitized += changed
                    key = _copy_text(record_key)
                    # JSON text holds no raw tab or newline: only backslashes need escaping.
                    raw = raw.replace(b"\\", b"\\\\")
                    lines.append(b"%d\t%s\t%s\t%s\n" % (received, key, parent, raw))
                copy.write(b"".join(lines))
        rejected.warn()
        return received, sanitized, rejected.count

    def _upsert(self, spec: TableSpec) -> tuple[int, int, int]:
        """Insert new keys, update changed rows; (inserted, updated, distinct keys staged)."""
        names = spec.column_names
        changed = " OR ".join(
            f"t.{ident(n)} IS DISTINCT FROM EXCLUDED.{ident(n)}"
            for n in ("raw", spec.parent_key)
            if n
        )
        if spec.soft_delete:
            changed += f" OR t.{ident(DELETED_AT)} IS NOT NULL"  # it is back: clear the mark
        guard = f"({changed})"
        if spec.version:
            version = ident(spec.version)
            guard += f" AND (t.{version} IS NULL OR EXCLUDED.{version} >= t.{version})"
        query = f"""
            WITH newest AS MATERIALIZED ({_newest_seqs(spec)}),
            written AS (
                INSERT INTO {qualified(self.schema, spec.name)} AS t ({", ".join(map(ident, names))})
                {_rows_to_write(spec, "newest")}
                ON CONFLICT ({ident(spec.key)}) DO UPDATE
                    SET {", ".join(f"{ident(n)} = EXCLUDED.{ident(n)}" for n in names[1:])}
                    WHERE {guard}
                RETURNING t.xmax = 0 AS inserted  -- an updated row version has an xmax
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
                (SELECT count(*) FROM newest)
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
        query = f"""
            WITH newest AS MATERIALIZED ({_newest_seqs(spec, per_version=True)}),
            written AS (
                INSERT INTO {qualified(self.schema, spec.name)}
                    ({", ".join(map(ident, spec.column_names))})
                {_rows_to_write(spec, "newest")}
                ON CONFLICT ({", ".join(map(ident, spec.primary_key))}) DO NOTHING
                RETURNING 1
            )
            SELECT count(*), (SELECT count(*) FROM newest) FROM written
        """
        inserted, distinct = self.connection.exec_driver_sql(query).one()
        return inserted, distinct - inserted


def staged_columns(spec: TableSpec, history: TableSpec | None) -> list[Column]:
    """The typed columns staging computes: the table's, and its history table's."""
    columns = {c.name: c for c in spec.columns}
    for column in history.columns if history else ():
        if columns.setdefault(column.name, column).path != column.path:
            raise ValueError(f"{spec.name} and {spec.history} define {column.name} differently")
    return list(columns.values())


def _newest_seqs(spec: TableSpec, *, per_version: bool = False) -> str:
    """SELECT of the staged rows to write (their `seq`): for each key, or (key, version) when
    `per_version`, the newest one. Picked on narrow tuples, so wide rows are never sorted."""
    pick = f"FROM {STAGING} AS s WHERE s.key IS NOT NULL"
    if spec.version and per_version:
        version = f"s.{ident(spec.version)}"
        return (
            f"SELECT max(s.seq) AS seq {pick} AND {version} IS NOT NULL GROUP BY s.key, {version}"
        )
    if spec.version:
        version = f"s.{ident(spec.version)}"
        return (
            f"SELECT DISTINCT ON (s.key) s.seq {pick} "
            f"ORDER BY s.key, {version} DESC NULLS LAST, s.seq DESC"
        )
    return f"SELECT max(s.seq) AS seq {pick} GROUP BY s.key"


def _rows_to_write(spec: TableSpec, newest: str) -> str:
    """SELECT of the staged rows listed in `newest`, in the table's column order."""
    values = [
        "s.key",
        *(["s.parent"] if spec.parent_key else []),
        *(f"s.{ident(c.name)}" for c in spec.columns),
        "s.raw",
        "now()",
        *(["NULL::timestamptz"] if spec.soft_delete else []),
    ]
    return (
        f"SELECT {', '.join(values)} FROM {STAGING} AS s WHERE s.seq IN (SELECT seq FROM {newest})"
    )


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


def _copy_text(value: str) -> bytes:
    """A text value for COPY: sanitised (as `raw` is), escaped, UTF-8."""
    return clean_text(value).translate(_COPY_ESCAPES).encode()


def _usable_key(spec: TableSpec, record: Record) -> str | None:
    """The record's key as text, or None when it has none that can be stored."""
    value = record.get(spec.key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    key = str(value)
    return key if 0 < len(key) <= MAX_KEY_LENGTH else None


class _Rejected:
    """The records of one load rejected for want of a usable key: counted, the first described."""

    def __init__(self, spec: TableSpec):
        self.spec = spec
        self.count = 0
        self.first: Record | None = None

    def add(self, record: Record) -> None:
        self.count += 1
        if self.first is None:
            self.first = record

    def warn(self) -> None:
        if self.first is None:
            return
        value = self.first.get(self.spec.key)
        # Field names may hold what Postgres cannot store: the event log is in Postgres too.
        fields = clean_text(", ".join(sorted(map(str, self.first))[:20])) or "none"
        name, key = self.spec.name, self.spec.key
        _log.warning(
            f"{name}: {self.count} record(s) without a usable {key!r} were not stored (the "
            f"first: {key} {value!r:.60}, fields {fields}); the rest of {name} loaded, and "
            f"rows_rejected counts them. Only a non-empty string or integer of at most "
            f"{MAX_KEY_LENGTH} characters can key a row."
        )
