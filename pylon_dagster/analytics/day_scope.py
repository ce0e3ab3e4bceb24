"""Which issues and versions the metrics of a stretch of days need, in indexable SQL.

An issue counts in a day `[start, end)` of the stretch when its `created_at`,
`first_response_time` or `resolution_time` falls in it, when it has a version in it (a reopening,
or a change of its state at the day's end), or when it is open at the stretch's start: then it is
open at the end of every day of the stretch until one of those events changes that. Every other
issue counts on none of the days, so leaving it out changes no row.

Open at the start is decided without reading every issue. An issue updated at or after the start
is taken whatever its state. One updated before it has its newest version before it, and that
version is its current row: it is open at the start when its current state is open (or empty,
which keeps an older state and is settled from its versions). The open states are those present
in the `state` index and not closed, so the backlog is read through that index. Most of a short
stretch's backlog has no event in it (`STEADY`): those issues are not read, `steady_backlog`
counts the open ones per team in SQL, and every day of the stretch adds them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from pylon_dagster.warehouse.live import LIVE_ISSUE_CONDITION
from pylon_dagster.warehouse.sql import qualified

ISSUE_TIMES = ("created_at", "first_response_time", "resolution_time")
"""The times of an issue's own events: each counts on its day."""
BACKLOG = "state = ANY(CAST(:open_states AS text[])) OR state IS NULL"
"""The open backlog, through the `state` index (`:open_states`: `open_states`)."""
STEADY = (
    "(coalesce(updated_at < :start AND created_at < :start, false) AND NOT coalesce("
    + " OR ".join(f"({t} >= :start AND {t} < :end)" for t in ISSUE_TIMES[1:])
    + ", false))"
)
"""An issue created and last updated before the days, neither responded to nor resolved in them:
no version of it falls in the days (its newest is its current row), so it is open at the end of
every day or of none, as it was at their start (`steady_backlog`)."""


def issues_in_days(schema: str, columns: Sequence[str]) -> str:
    """A FROM item of the `columns` of the live issues that can count in the days from `:start`
    to `:end` (`:open_states`: `open_states`).

    One scan of `issues` with the conditions OR-ed: over a few days the planner combines their
    indexes (a bitmap OR), over a backfill it reads the table once. (A union of the ids looked up
    again in `issues` made the planner scan the whole table for a day's few thousand ids.)"""
    conditions = [
        *(f"({t} >= :start AND {t} < :end)" for t in ISSUE_TIMES),
        "updated_at >= :start OR updated_at IS NULL",
        f"(({BACKLOG}) AND NOT {STEADY})",
    ]
    return (
        f"(SELECT {', '.join(columns)} FROM {qualified(schema, 'issues')} "
        f"WHERE {LIVE_ISSUE_CONDITION} AND ({' OR '.join(conditions)}))"
    )


def steady_backlog(schema: str) -> str:
    """Per team, the count of the issues of the backlog with no event in the days (`STEADY`) that
    are open at the days' start, hence at the end of every day: as the one-pass computation
    decides it, by the newest state of their versions before the start or, without one, by
    their resolution. Counted in SQL, not read as rows: in a large warehouse most of a short
    stretch's backlog. Columns team_id, open."""
    issues, history = qualified(schema, "issues"), qualified(schema, "issues_history")
    before = f"FROM {history} AS h WHERE h.id = i.id AND h.updated_at < :start"
    newest_state = (
        f"(SELECT h.state {before} AND h.state IS NOT NULL ORDER BY h.updated_at DESC LIMIT 1)"
    )
    unresolved = "(i.resolution_time IS NULL OR i.resolution_time >= :end)"
    # An open state and no resolution before the days decide it without the versions: the newest
    # version is the current row, and an issue without versions is judged by its resolution.
    open_at_start = (
        f"CASE WHEN i.state <> ALL(CAST(:closed AS text[])) AND {unresolved} THEN true "
        f"WHEN EXISTS (SELECT 1 {before}) "
        f"THEN coalesce({newest_state} <> ALL(CAST(:closed AS text[])), true) "
        f"ELSE {unresolved} END"
    )
    return (
        f"SELECT i.team_id, count(*) AS open FROM {issues} AS i WHERE {LIVE_ISSUE_CONDITION} "
        f"AND ({BACKLOG}) AND {STEADY} AND {open_at_start} GROUP BY i.team_id"
    )


def open_states(connection: sa.Connection, schema: str, closed: frozenset[str]) -> list[str]:
    """The states of stored issues that are not closed: the distinct values of the `state` index,
    one index probe each (a skip scan)."""
    issues = qualified(schema, "issues")
    states = connection.execute(
        sa.text(
            f"WITH RECURSIVE s(state) AS (SELECT min(state) FROM {issues} UNION ALL "
            f"SELECT (SELECT min(state) FROM {issues} WHERE state > s.state) FROM s "
            "WHERE s.state IS NOT NULL) SELECT state FROM s WHERE state IS NOT NULL"
        )
    ).scalars()
    return [state for state in states if state not in closed]


def versions_of(schema: str, source: str) -> str:
    """The `issues_history` versions (id, updated_at, state) of the issues of the FROM item
    `source` (with an `id`) that the days from `:start` to `:end` need: those inside the days,
    and before them the newest version and the newest with a state (an empty state keeps the
    previous one). Older versions change no day's row: their state holds only until a newer
    version before the days, and each of those two is one probe of the primary key per issue."""
    history = qualified(schema, "issues_history")
    before = (
        f"SELECT h.id, h.updated_at, h.state FROM {history} AS h "
        "WHERE h.id = ids.id AND h.updated_at < :start"
    )
    latest = "ORDER BY h.updated_at DESC LIMIT 1"
    return (
        f"WITH ids AS MATERIALIZED (SELECT id FROM {source} AS i) "
        f"SELECT h.id, h.updated_at, h.state FROM ids JOIN {history} AS h ON h.id = ids.id "
        "AND h.updated_at >= :start AND h.updated_at < :end "
        "UNION ALL "
        "SELECT b.id, b.updated_at, b.state FROM ids CROSS JOIN LATERAL "
        f"(({before} {latest}) UNION ({before} AND h.state IS NOT NULL {latest})) AS b"
    )
