"""Rows whose record is gone upstream: marked in `_deleted_at`, their children removed.

Pylon sends no tombstones, so a soft-deleted table (`TableSpec.soft_delete`: `issues`) keeps the
row of a record found deleted, for audit, with `_deleted_at` set; its children (messages, threads)
and their fetch bookkeeping are removed. A record that comes back is un-marked: by the normal
upsert (`loader.py`) or by `unmark` when a listing shows it again.

Every function takes the connection of a warehouse transaction (`tx.connection`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from pylon_dagster.catalog.streams import children_of
from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.catalog.tablespec import DELETED_AT, TableSpec
from pylon_dagster.warehouse.bookkeeping import FETCH_STATE_TABLE, forget_fetched
from pylon_dagster.warehouse.sql import ident, qualified

_DELETED = ident(DELETED_AT)


def _soft_deleted_table(table: str) -> TableSpec:
    spec = table_spec(table)
    if not spec.soft_delete:
        raise ValueError(f"{table} does not keep rows marked deleted")
    return spec


def live_keys(
    connection: sa.Connection,
    schema: str,
    table: str,
    *,
    version_from: datetime,
    synced_before: datetime,
    created: tuple[datetime | None, datetime | None] = (None, None),
) -> list[str]:
    """Keys of the unmarked rows with `version >= version_from` written before `synced_before`,
    and `created[0] <= created_at < created[1]` (None: open) when a bound is given: the rows a
    listing of that range, started at `synced_before`, must show."""
    spec = _soft_deleted_table(table)
    if spec.version is None:
        raise ValueError(f"{table} has no version column")
    key = ident(spec.key)
    created_from, created_before = created
    conditions = [
        *([] if created_from is None else ["created_at >= :created_from"]),
        *([] if created_before is None else ["created_at < :created_before"]),
    ]
    query = f"""
        SELECT {key} FROM {qualified(schema, table)}
        WHERE {_DELETED} IS NULL AND {ident(spec.version)} >= :version_from
            AND _synced_at < :synced_before {"".join(f" AND {c}" for c in conditions)}
        ORDER BY {key}
    """
    params = {
        "version_from": version_from,
        "synced_before": synced_before,
        "created_from": created_from,
        "created_before": created_before,
    }
    return list(connection.execute(sa.text(query), params).scalars())


def marked_keys(
    connection: sa.Connection, schema: str, table: str, marked_before: datetime
) -> list[str]:
    """Keys of the rows marked deleted before `marked_before`."""
    spec = _soft_deleted_table(table)
    key = ident(spec.key)
    query = f"""
        SELECT {key} FROM {qualified(schema, table)}
        WHERE {_DELETED} < :marked_before ORDER BY {key}
    """
    return list(connection.execute(sa.text(query), {"marked_before": marked_before}).scalars())


def mark_deleted(
    connection: sa.Connection, schema: str, table: str, keys: Collection[str]
) -> list[str]:
    """Set `_deleted_at` to now on the unmarked rows among `keys`; the keys newly marked.

    Rows are locked in key order first, so two transactions marking overlapping keys (the
    messages and threads of one issue both answering 404) wait for each other, never deadlock.
    """
    spec = _soft_deleted_table(table)
    if not keys:
        return []
    key, name = ident(spec.key), qualified(schema, table)
    query = f"""
        WITH locked AS (
            SELECT {key} FROM {name}
            WHERE {key} = ANY(CAST(:keys AS text[])) AND {_DELETED} IS NULL
            ORDER BY {key} FOR UPDATE
        )
        UPDATE {name} AS t SET {_DELETED} = now()
        FROM locked WHERE t.{key} = locked.{key}
        RETURNING t.{key}
    """
    return sorted(connection.execute(sa.text(query), {"keys": sorted(keys)}).scalars())


def unmark(
    connection: sa.Connection,
    schema: str,
    table: str,
    keys: Collection[str],
    *,
    marked_before: datetime,
) -> list[str]:
    """Clear the mark of the rows among `keys` marked before `marked_before` (a listing started
    then shows them, so they exist); the keys un-marked. Their children were removed when they
    were marked: their fetch bookkeeping goes too, so the next run of their day fetches them."""
    spec = _soft_deleted_table(table)
    if not keys:
        return []
    key = ident(spec.key)
    query = f"""
        UPDATE {qualified(schema, table)} SET {_DELETED} = NULL
        WHERE {key} = ANY(CAST(:keys AS text[])) AND {_DELETED} < :marked_before
        RETURNING {key}
    """
    params = {"keys": sorted(keys), "marked_before": marked_before}
    unmarked = sorted(connection.execute(sa.text(query), params).scalars())
    for child in children_of(table):
        forget_fetched(connection, schema, child.name, unmarked)
    return unmarked


def remove_children_of_deleted(
    connection: sa.Connection, schema: str, table: str, *, only: Collection[str] | None = None
) -> dict[str, int]:
    """Delete the children (of the child tables named in `only`, or all), and their fetch
    bookkeeping, of every row marked deleted; the rows removed per child table. Idempotent: a
    child stored after its parent was marked (a fetch that raced the marking) goes on the next
    call."""
    spec = _soft_deleted_table(table)
    marked = (
        f"SELECT {ident(spec.key)} FROM {qualified(schema, table)} WHERE {_DELETED} IS NOT NULL"
    )
    removed: dict[str, int] = {}
    for child in children_of(table):
        if only is not None and child.name not in only:
            continue
        parent_key = ident(child.table.parent_key or "")
        removed[child.name] = connection.exec_driver_sql(
            f"DELETE FROM {qualified(schema, child.name)} WHERE {parent_key} IN ({marked})"
        ).rowcount
        connection.execute(
            sa.text(
                f"DELETE FROM {qualified(schema, FETCH_STATE_TABLE)} "
                f"WHERE stream = :stream AND parent_id IN ({marked})"
            ),
            {"stream": child.name},
        )
    return removed
