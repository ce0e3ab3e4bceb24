"""Which accounts a run of `account_support_summary` recomputes: those whose issues changed since
the previous run, not every account.

A run records a `SummaryMark` in its materialization. The next one recomputes the accounts of the
issues written or marked deleted since `changes_from` (their accounts now and in every stored
version, so an issue moved to another account updates both), of the issues that left the 90-day
window since the previous `computed_at`, and the accounts of `accounts` without a row yet; every
other account's row is what a computation now would give. Without a mark, with other closed
states (an `issue_statuses` change reaches every account) or an empty table, it recomputes all.
An issue the deletion pass un-marks changes no time stamp: the first run after a pass that
un-marked any is a full one (`previous_mark` in `assets/analytics.py`).

`changes_from` is the summary's first snapshot, moved back to the start of every transaction then
running: a load commits its rows stamped with its own start (`now()`), possibly after the summary
read, and the next run must see them. A transaction of another database role shows no start in
`pg_stat_activity`, so the loads and the summary share the warehouse's role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.analytics.accounts import RECENT_WINDOW
from pylon_dagster.catalog.metric_tables import ACCOUNT_SUPPORT_SUMMARY
from pylon_dagster.catalog.streams import ISSUE_COLUMNS
from pylon_dagster.catalog.tablespec import DELETED_AT
from pylon_dagster.warehouse.casts import typed_value
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import qualified

MARK_KEYS = ("changes_from", "computed_at", "closed_states", "schema")
ACCOUNT_ID = next(column for column in ISSUE_COLUMNS if column.name == "account_id")
"""An issue's account, read from the `raw` of its stored versions (`issues_history` keeps no
column of it)."""


@dataclass(frozen=True)
class SummaryMark:
    """What a run of the summary saw: the next run recomputes what changed since."""

    changes_from: datetime
    computed_at: datetime
    closed: frozenset[str]
    schema: str

    def metadata(self) -> dict[str, dg.MetadataValue]:
        return {
            "changes_from": dg.MetadataValue.text(self.changes_from.isoformat()),
            "computed_at": dg.MetadataValue.text(self.computed_at.isoformat()),
            "closed_states": dg.MetadataValue.json(sorted(self.closed)),
            "schema": dg.MetadataValue.text(self.schema),
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> SummaryMark | None:
        """The mark a materialization recorded; None for one without (an older version's)."""
        if not all(key in metadata for key in MARK_KEYS):
            return None
        value = {key: metadata[key].value for key in MARK_KEYS}
        return cls(
            datetime.fromisoformat(value["changes_from"]),
            datetime.fromisoformat(value["computed_at"]),
            frozenset(value["closed_states"]),
            value["schema"],
        )


def changes_from(connection: sa.Connection) -> datetime:
    """The time from which a later run must look for changes (see the module docstring). Call it
    before reading the issues."""
    return connection.execute(
        sa.text(
            "SELECT least(clock_timestamp(), (SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE datname = current_database()))"
        )
    ).scalar_one()


def accounts_to_recompute(
    connection: sa.Connection,
    schema: str,
    previous: SummaryMark,
    now: datetime,
    closed: frozenset[str],
) -> list[str] | None:
    """The accounts whose rows changed since `previous`, or None when every account must be
    recomputed (`closed`: the closed states now)."""
    summary = qualified(schema, ACCOUNT_SUPPORT_SUMMARY.name)
    if (previous.schema, previous.closed) != (schema, closed) or not connection.execute(
        sa.text(f"SELECT EXISTS (SELECT FROM {summary})")
    ).scalar_one():
        return None
    issues, history = qualified(schema, "issues"), qualified(schema, "issues_history")
    accounts = qualified(schema, "accounts")
    changed = (
        f"SELECT id, account_id FROM {issues} "
        f"WHERE _synced_at >= :changes_from OR {DELETED_AT} >= :changes_from"
    )
    query = f"""
        WITH changed AS MATERIALIZED ({changed})
        SELECT account_id FROM changed
        UNION SELECT {typed_value(ACCOUNT_ID, schema)} FROM {history} AS h
            WHERE h.id IN (SELECT id FROM changed)
        UNION SELECT account_id FROM {issues}
            WHERE created_at >= :window_from AND created_at < :window_to
        UNION SELECT a.id FROM {accounts} AS a
            WHERE NOT EXISTS (SELECT FROM {summary} AS s WHERE s.account_id = a.id)
    """
    found = connection.execute(
        sa.text(query),
        {
            "changes_from": previous.changes_from,
            "window_from": previous.computed_at - RECENT_WINDOW,
            "window_to": now - RECENT_WINDOW,
        },
    ).scalars()
    return sorted(account for account in found if account is not None)


def delete_vanished(connection: sa.Connection, schema: str) -> int:
    """Remove the rows of accounts neither in `accounts` nor of a live issue; how many."""
    summary = qualified(schema, ACCOUNT_SUPPORT_SUMMARY.name)
    return connection.execute(
        sa.text(
            f"DELETE FROM {summary} AS s "
            f"WHERE NOT EXISTS (SELECT FROM {qualified(schema, 'accounts')} AS a "
            "WHERE a.id = s.account_id) "
            f"AND NOT EXISTS (SELECT FROM {live_issues(schema)} AS i "
            "WHERE i.account_id = s.account_id)"
        )
    ).rowcount
