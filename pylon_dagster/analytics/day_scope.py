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
in the `state` index and not closed, so the backlog is read through that index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from pylon_dagster.warehouse.live import LIVE_ISSUE_CONDITION
from pylon_dagster.warehouse.sql import qualified

ISSUE_TIMES = ("created_at", "first_response_time", "resolution_time")
"""The times of an issue's own events: each counts on its day."""


def issues_in_days(schema: str, columns: Sequence[str]) -> str:
    """A FROM item of the `columns` of the live issues that can count in the days from `:start`
    to `:end` (`:open_states`: `open_states`).

    One scan of `issues` with the conditions OR-ed: over a few days the planner combines their
    indexes (a bitmap OR), over a backfill it reads the table once. (A union of the ids looked up
    again in `issues` made the planner scan the whole table for a day's few thousand ids.)"""
    conditions = [
        *(f"({t} >= :start AND {t} < :end)" for t in ISSUE_TIMES),
        "updated_at >= :start OR updated_at IS NULL",
        "state = ANY(CAST(:open_states AS text[])) OR state IS NULL",
    ]
    return (
        f"(SELECT {', '.join(columns)} FROM {qualified(schema, 'issues')} "
        f"WHERE {LIVE_ISSUE_CONDITION} AND ({' OR '.join(conditions)}))"
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
