"""How many rows the warehouse's tables hold, without scanning the large ones.

`count(*)` reads a whole table (about 4 s at a million issues, unless a vacuum just ran), too slow
for a health check. Postgres keeps an estimate per table (`pg_class.reltuples`, refreshed by
vacuum and analyze) for the planner; scaled by the table's current size, as the planner does, it is
close enough to show. A small table is counted exactly, as is one Postgres has no estimate for yet
(never vacuumed nor analyzed: `reltuples` is -1).
"""

from __future__ import annotations

import sqlalchemy as sa

EXACT_BELOW_BYTES = 8 * 1024 * 1024
"""Tables up to this size on disk (some tens of thousands of rows) are counted exactly: a few ms."""


def estimated_rows(connection: sa.Connection, schema: str) -> dict[str, int]:
    """Postgres's row estimate of each table of `schema` too large to count in a few ms, and
    having statistics; a table left out is to be counted."""
    query = sa.text(
        "SELECT c.relname, c.reltuples / c.relpages "
        "* (pg_relation_size(c.oid) / current_setting('block_size')::bigint) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') "
        "AND c.reltuples >= 0 AND c.relpages > 0 AND pg_relation_size(c.oid) >= :exact_below"
    )
    # The planner's own estimate: the density at the last vacuum or analyze, times today's pages.
    found = connection.execute(query, {"schema": schema, "exact_below": EXACT_BELOW_BYTES})
    return {table: round(rows) for table, rows in found}
