"""Which parents need their children fetched, and which parents exist.

Child streams (messages, threads) are fetched per issue. `child_fetch_state` remembers, per child
stream and issue, the issue's `updated_at` when its children were last fetched, so a run fetches
children only for issues that changed since. `mark_fetched` belongs in the same transaction as the
child load: either both are stored or neither is.

The state also records how many children were stored at the fetch: a parent whose state claims
children that are no longer in the child table (emptied by hand, restored from an older backup)
counts as changed, so the bookkeeping never keeps a sync from filling a table it claims is full.

Every function takes the connection of a warehouse transaction (`tx.connection`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from pylon_dagster.catalog.state_tables import CHILD_FETCH_STATE
from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.catalog.tablespec import DELETED_AT
from pylon_dagster.warehouse.sql import ident, qualified

FETCH_STATE_TABLE = CHILD_FETCH_STATE.name


def changed_parents(
    connection: sa.Connection,
    schema: str,
    stream: str,
    parent_table: str,
    start: datetime,
    end: datetime,
) -> list[tuple[str, datetime]]:
    """(key, version) of the stored parents with start <= version < end whose children for
    `stream` were never fetched, or were fetched when the parent had another version. A parent
    marked deleted has no children to fetch."""
    parent = table_spec(parent_table)
    if parent.version is None:
        raise ValueError(f"{parent_table} has no version column to compare fetches against")
    if table_spec(stream).parent_key is None:
        raise ValueError(f"{stream} is not a child table")
    key, version = ident(parent.key), ident(parent.version)
    live = f"AND p.{ident(DELETED_AT)} IS NULL" if parent.soft_delete else ""
    query = f"""
        SELECT p.{key}, p.{version}
        FROM {qualified(schema, parent.name)} AS p
        LEFT JOIN {qualified(schema, FETCH_STATE_TABLE)} AS f
            ON f.stream = :stream AND f.parent_id = p.{key}
        WHERE p.{version} >= :start AND p.{version} < :end {live}
            AND (f.parent_version IS DISTINCT FROM p.{version}
                OR {children_lost(schema, stream, "f")})
        ORDER BY p.{version}, p.{key}
    """
    rows = connection.execute(sa.text(query), {"stream": stream, "start": start, "end": end})
    return [(parent_id, parent_version) for parent_id, parent_version in rows]


def children_lost(schema: str, stream: str, state: str) -> str:
    """SQL: the fetch state row `state` (an alias of the state table, for `stream`) claims
    children of its parent that `stream`'s table no longer holds."""
    parent_key = table_spec(stream).parent_key
    if parent_key is None:
        raise ValueError(f"{stream} is not a child table")
    return (
        f"({state}.children > 0 AND NOT EXISTS (SELECT 1 FROM {qualified(schema, stream)} AS c "
        f"WHERE c.{ident(parent_key)} = {state}.parent_id))"
    )


def mark_fetched(
    connection: sa.Connection, schema: str, stream: str, parents: Iterable[tuple[str, datetime]]
) -> None:
    """Remember that the children of `parents` (key, version) were fetched for `stream`, and how
    many of them `stream`'s table holds now (call after their load, in its transaction)."""
    latest = dict(parents)  # one row per parent: ON CONFLICT cannot touch a row twice
    if not latest:
        return
    parent_key = table_spec(stream).parent_key
    if parent_key is None:
        raise ValueError(f"{stream} is not a child table")
    stored = (
        f"(SELECT count(*) FROM {qualified(schema, stream)} AS c "
        f"WHERE c.{ident(parent_key)} = u.parent_id)"
    )
    query = f"""
        INSERT INTO {qualified(schema, FETCH_STATE_TABLE)} AS f
            (stream, parent_id, parent_version, fetched_at, children)
        SELECT :stream, u.parent_id, u.parent_version, now(), {stored}
        FROM unnest(CAST(:ids AS text[]), CAST(:versions AS timestamptz[]))
            AS u(parent_id, parent_version)
        ON CONFLICT (stream, parent_id) DO UPDATE
            SET parent_version = EXCLUDED.parent_version, fetched_at = EXCLUDED.fetched_at,
                children = EXCLUDED.children
    """
    connection.execute(
        sa.text(query),
        {"stream": stream, "ids": list(latest), "versions": list(latest.values())},
    )


def forget_fetched(
    connection: sa.Connection, schema: str, stream: str, parent_ids: Iterable[str]
) -> None:
    """Forget that the children of `parent_ids` were fetched for `stream`: fetch them next time."""
    ids = sorted(set(parent_ids))
    if not ids:
        return
    connection.execute(
        sa.text(
            f"DELETE FROM {qualified(schema, FETCH_STATE_TABLE)} "
            "WHERE stream = :stream AND parent_id = ANY(CAST(:ids AS text[]))"
        ),
        {"stream": stream, "ids": ids},
    )


def known_parent_ids(connection: sa.Connection, schema: str, table: str) -> list[str]:
    """The keys stored in `table` (e.g. the knowledge bases whose contents to fetch)."""
    key = ident(table_spec(table).key)
    query = f"SELECT {key} FROM {qualified(schema, table)} ORDER BY {key}"
    return list(connection.execute(sa.text(query)).scalars())


def stored_parent_ids(connection: sa.Connection, schema: str, child_table: str) -> list[str]:
    """The parent keys that have children stored in `child_table`."""
    parent_key = table_spec(child_table).parent_key
    if parent_key is None:
        raise ValueError(f"{child_table} is not a child table")
    column = ident(parent_key)
    query = f"SELECT DISTINCT {column} FROM {qualified(schema, child_table)} ORDER BY {column}"
    return list(connection.execute(sa.text(query)).scalars())
