"""The deletion pass's sweep: which slice of a soft-deleted table (`issues`) the next pass judges.

A pass judges the rows whose `created_at` lies in one slice `[created_from, created_before)`;
`created_at` never changes, so no row moves between slices while a cycle goes on. The first slice
of a cycle is open below (NULL `created_from`), the last open above, so every row with a
`created_at` is judged once per cycle. Where the next slice starts is kept in `deletion_sweep`:
every host running passes shares it, and a restart goes on where the last pass ended. A slice ends
where the warehouse holds the wanted number of rows from its start (`slice_end`), so it is sized
from the rows it will list, not from the calendar.

Every function takes the connection of a warehouse transaction (`tx.connection`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from pylon_dagster.catalog.state_tables import DELETION_SWEEP
from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.warehouse.sql import ident, qualified

CREATED_AT = "created_at"


def sweep_position(connection: sa.Connection, schema: str, table: str) -> datetime | None:
    """The first `created_at` of the next slice of `table`; None: the next slice starts a cycle."""
    query = f"SELECT created_from FROM {qualified(schema, DELETION_SWEEP.name)} "
    query += "WHERE stream = :stream"
    return connection.execute(sa.text(query), {"stream": table}).scalar()


def advance_sweep(
    connection: sa.Connection,
    schema: str,
    table: str,
    *,
    position: datetime | None,
    to: datetime | None,
) -> bool:
    """Move the sweep of `table` from `position` (what the pass read) to `to` (None: the cycle is
    done, the next starts over); False if another pass moved it meanwhile (then it stays)."""
    query = f"""
        INSERT INTO {qualified(schema, DELETION_SWEEP.name)} AS s
            (stream, created_from) VALUES (:stream, :to)
        ON CONFLICT (stream) DO UPDATE SET created_from = :to, updated_at = clock_timestamp()
            WHERE s.created_from IS NOT DISTINCT FROM :position
    """
    params = {"stream": table, "position": position, "to": to}
    return connection.execute(sa.text(query), params).rowcount == 1


def slice_end(
    connection: sa.Connection,
    schema: str,
    table: str,
    *,
    version_from: datetime,
    created_from: datetime | None,
    rows: int,
) -> datetime | None:
    """Where a slice starting at `created_from` ends so that it holds at most `rows` of the rows
    with `version >= version_from` (and at least one distinct `created_at`, so a sweep always
    moves on); None: the rest of the table fits, the slice is the cycle's last."""
    spec = table_spec(table)
    if spec.version is None:
        raise ValueError(f"{table} has no version column")
    name, created = qualified(schema, table), ident(CREATED_AT)
    after = "" if created_from is None else f"AND {created} >= :created_from"
    query = f"""
        SELECT {created} FROM {name}
        WHERE {created} IS NOT NULL AND {ident(spec.version)} >= :version_from {after}
        ORDER BY {created} OFFSET :rows LIMIT 1
    """
    params = {"version_from": version_from, "created_from": created_from, "rows": rows}
    end = connection.execute(sa.text(query), params).scalar()
    if end is None or created_from is None or end > created_from:
        return end
    # More than `rows` rows share `created_from`: the slice takes them all.
    query = f"""
        SELECT min({created}) FROM {name}
        WHERE {created} > :created_from AND {ident(spec.version)} >= :version_from
    """
    return connection.execute(sa.text(query), params).scalar()
