"""What a warehouse table is: its key, write mode, parent key and typed columns.

The DDL, the Dagster column schema and the load SQL are all derived from a `TableSpec`. Typed
columns are computed in SQL from `raw` (see `warehouse/casts.py`), so adding a column to a spec
is all it takes: `ensure_tables()` adds it to the existing table and fills it from the rows already
stored. The specs themselves are declared beside this module (`streams.py`, `metric_tables.py`,
`state_tables.py`).

The project's own state (fetch bookkeeping, webhook events, the rate budget) is kept in tables
declared by a `StateTableSpec`: columns as Postgres stores them, written by the project's own SQL,
never by the loader. The same DDL path creates both kinds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import dagster as dg

PG_TYPES = ("text", "bigint", "double precision", "boolean", "timestamptz", "text[]", "jsonb")
DELETED_AT = "_deleted_at"
"""When a soft-deleted table's record was found gone upstream; NULL while it exists."""
NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
MAX_NAME_LENGTH = 63
DESCENDING = " DESC NULLS LAST"
"""The one descending order an index column can have: the one `ORDER BY x DESC NULLS LAST` reads."""


def is_plain_name(name: str) -> bool:
    """A lower-case Postgres identifier that needs no quoting to be typed in a query."""
    return NAME_PATTERN.fullmatch(name) is not None


class WriteMode(StrEnum):
    MERGE = "merge"
    """Upsert on the key. With a `version` column a row is only replaced by an equal or newer one."""
    REPLACE = "replace"
    """Full refresh: the table ends up holding exactly the records loaded; the rest is deleted."""
    REPLACE_PER_PARENT = "replace_per_parent"
    """Children: the stored children of each parent named in the load are replaced by its batch."""
    APPEND = "append"
    """History: one row per distinct (key, version); a version already stored is left alone."""


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    path: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        if not is_plain_name(self.name):
            raise ValueError(f"column {self.name!r}: use a lower-case identifier")
        if not all(step.isidentifier() for step in self.path):
            raise ValueError(f"column {self.name}: path {self.path} has a step that is no name")
        if self.pg_type not in PG_TYPES:
            raise ValueError(f"column {self.name}: type {self.pg_type!r} is not one of {PG_TYPES}")


def col(name: str, pg_type: str = "text", path: str | None = None, description: str = "") -> Column:
    """A typed column read from `path` (dotted, default: the column's name) of the API record."""
    dotted = path or name
    return Column(
        name, pg_type, tuple(dotted.split(".")), description or f"`{dotted}` of the API record."
    )


@dataclass(frozen=True)
class Index:
    """A b-tree index of a table. Its name is derived from the table and its terms, so it is the
    same in every warehouse, and `ensure_tables()` can tell whether it exists."""

    table: str
    terms: tuple[str, ...]
    """Key columns in order, each `column` (ascending) or `column DESC NULLS LAST`."""
    given_name: str | None = None
    """A name of its own instead of the derived one (the state tables keep their first names)."""

    @property
    def keys(self) -> tuple[tuple[str, bool], ...]:
        """(column, descending) of each term."""
        return tuple(
            (term.removesuffix(DESCENDING), term.endswith(DESCENDING)) for term in self.terms
        )

    @property
    def name(self) -> str:
        """`<table>_<column>[_desc]_..._idx`: for one column, the name Postgres itself gives."""
        if self.given_name is not None:
            return self.given_name
        words = (f"{column}_desc" if descending else column for column, descending in self.keys)
        return f"{self.table}_{'_'.join(words)}_idx"


@dataclass(frozen=True)
class TableSpec:
    name: str
    mode: WriteMode
    columns: tuple[Column, ...]
    description: str
    key: str = "id"
    # The column we add to child records: the id of the parent they were fetched for.
    parent_key: str | None = None
    # A typed timestamptz column that orders the versions of one record (merge guard, history key).
    version: str | None = None
    # The append-mode table that also receives every version loaded into this one.
    history: str | None = None
    # The column whose UTC day is the daily partition key of the asset writing the table.
    partition_column: str | None = None
    # Descriptions of the key, parent key and raw columns where an API record's do not fit
    # (tables of rows the project computes).
    fixed_descriptions: Mapping[str, str] = field(default_factory=dict)
    # Rows whose record is gone upstream are kept and marked in `_deleted_at`, not deleted; a load
    # that brings the record back clears the mark.
    soft_delete: bool = False
    # Indexes the table's readers need (see `Index.terms`), e.g. (("account_id", "created_at"),).
    indexes: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        names = self.column_names
        if not all(map(is_plain_name, (self.name, *names))):
            raise ValueError(f"{self.name}: table and column names must be lower-case identifiers")
        if "%" in self.description:
            raise ValueError(f"{self.name}: the description becomes SQL text; write percent out")
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names in {names}")
        if (self.parent_key is not None) != (self.mode is WriteMode.REPLACE_PER_PARENT):
            raise ValueError(f"{self.name}: a parent key goes with replace_per_parent, only")
        typed = {c.name: c.pg_type for c in self.columns}
        if self.version is not None and typed.get(self.version) != "timestamptz":
            raise ValueError(f"{self.name}: version {self.version!r} is not a timestamptz column")
        if self.mode is WriteMode.APPEND and self.version is None:
            raise ValueError(f"{self.name}: append mode needs a version column")
        if not set(self.fixed_descriptions) <= {self.key, self.parent_key, "raw"}:
            raise ValueError(f"{self.name}: fixed descriptions are for the key, parent and raw")
        if self.partition_column not in {None, self.parent_key} and (
            typed.get(self.partition_column or "") != "timestamptz"
        ):
            raise ValueError(
                f"{self.name}: partition column {self.partition_column!r} is neither a "
                "timestamptz column nor the parent key"
            )
        if self.soft_delete and self.mode is not WriteMode.MERGE:
            raise ValueError(f"{self.name}: only a merge table keeps rows marked deleted")
        _check_indexes(self.name, self.column_names, self.all_indexes)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column, in table order: key, parent key, typed columns, raw, _synced_at and, for a
        soft-deleted table, _deleted_at."""
        parent = (self.parent_key,) if self.parent_key else ()
        deleted = (DELETED_AT,) if self.soft_delete else ()
        return (self.key, *parent, *(c.name for c in self.columns), "raw", "_synced_at", *deleted)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return (self.key, self.version) if self.mode is WriteMode.APPEND else (self.key,)

    @property
    def all_indexes(self) -> tuple[Index, ...]:
        """Every index but the primary key: the parent key's and a merge table's version's (the
        loader and the bookkeeping look rows up by them), a soft-deleted table's `_deleted_at`
        (each child stream's run removes the children of the rows marked deleted, a few among
        many), then the declared ones."""
        implicit = [(self.parent_key,)] if self.parent_key else []
        if self.version and self.mode is WriteMode.MERGE:
            implicit.append((self.version,))
        if self.soft_delete:
            implicit.append((DELETED_AT,))
        return tuple(Index(self.name, terms) for terms in (*implicit, *self.indexes))


def _check_indexes(table: str, columns: tuple[str, ...], indexes: tuple[Index, ...]) -> None:
    for index in indexes:
        unknown = [column for column, _ in index.keys if column not in columns]
        if not index.terms or unknown:
            raise ValueError(
                f"{table}: index {index.terms} names no column or unknown ones {unknown}; "
                f"write each term as a column name, optionally followed by{DESCENDING}"
            )
        if len(index.name) > MAX_NAME_LENGTH:
            raise ValueError(f"{table}: index name {index.name} is over 63 characters")
    names = [index.name for index in indexes]
    if len(set(names)) != len(names):
        raise ValueError(f"{table}: duplicate indexes in {names}")


STATE_PG_TYPES = (
    "text",
    "integer",
    "bigint",
    "bigserial",
    "double precision",
    "timestamptz",
    "bytea",
)


@dataclass(frozen=True)
class StateColumn:
    """A column of a state table, declared as Postgres stores it."""

    name: str
    pg_type: str
    nullable: bool = False
    default: str | None = None
    """An SQL expression, e.g. `clock_timestamp()`; it also fills the rows of an existing table
    when the column is added later (a NOT NULL column added later needs one)."""
    identity: bool = False
    """`GENERATED ALWAYS AS IDENTITY`: the database numbers the rows."""
    unique: bool = False

    def __post_init__(self) -> None:
        if not is_plain_name(self.name):
            raise ValueError(f"column {self.name!r}: use a lower-case identifier")
        if self.pg_type not in STATE_PG_TYPES:
            raise ValueError(
                f"column {self.name}: type {self.pg_type!r} is not one of {STATE_PG_TYPES}"
            )
        if self.identity and (self.pg_type != "bigint" or self.nullable or self.default):
            raise ValueError(f"column {self.name}: an identity is a bigint, not null, no default")


@dataclass(frozen=True)
class StateTableSpec:
    """A table of the project's own state, written by its own SQL (never by the loader)."""

    name: str
    columns: tuple[StateColumn, ...]
    description: str
    primary_key: tuple[str, ...] = ()
    # {index name: terms (see `Index.terms`)}: named explicitly, so an index keeps its name.
    indexes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = self.column_names
        if not is_plain_name(self.name):
            raise ValueError(f"{self.name}: table names must be lower-case identifiers")
        if "%" in self.description:
            raise ValueError(f"{self.name}: the description becomes SQL text; write percent out")
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names in {names}")
        if not set(self.primary_key) <= set(names):
            raise ValueError(f"{self.name}: primary key {self.primary_key} names unknown columns")
        if not all(map(is_plain_name, self.indexes)):
            raise ValueError(f"{self.name}: index names must be lower-case identifiers")
        _check_indexes(self.name, names, self.all_indexes)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def all_indexes(self) -> tuple[Index, ...]:
        """Every index but the primary key and the unique columns' constraints."""
        return tuple(Index(self.name, terms, name) for name, terms in self.indexes.items())


def ts(name: str, path: str | None = None, description: str = "") -> Column:
    """A timestamptz column."""
    return col(name, "timestamptz", path, description)


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """The Dagster column schema of a table, shown in the asset catalog."""
    described = {
        spec.key: f"Primary key: `{spec.key}` of the API record.",
        "parent": "Id of the parent the record was fetched for (added by the sync).",
        "raw": "The record exactly as the API returned it.",
        **spec.fixed_descriptions,
    }
    columns = [
        dg.TableColumn(
            spec.key,
            "text",
            description=described[spec.key],
            constraints=dg.TableColumnConstraints(
                nullable=False, unique=len(spec.primary_key) == 1
            ),
        )
    ]
    if spec.parent_key:
        columns.append(
            dg.TableColumn(
                spec.parent_key,
                "text",
                description=described.get(spec.parent_key, described["parent"]),
                constraints=dg.TableColumnConstraints(nullable=False),
            )
        )
    columns += [dg.TableColumn(c.name, c.pg_type, description=c.description) for c in spec.columns]
    columns += [
        dg.TableColumn("raw", "jsonb", description=described["raw"]),
        dg.TableColumn("_synced_at", "timestamptz", description="When this row was last written."),
    ]
    if spec.soft_delete:
        columns.append(
            dg.TableColumn(
                DELETED_AT,
                "timestamptz",
                description="When the sync found the record deleted in Pylon (the row is kept "
                "for audit, its children are removed); NULL while it exists. Filter on "
                f"`{DELETED_AT} IS NULL` to count live records.",
            )
        )
    return dg.TableSchema(columns=columns)
