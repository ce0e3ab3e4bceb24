"""Live issues: the issues still in Pylon. Every read of `issues` for metrics or the sidebar goes
through `live_issues`, so what counts as live is decided here only."""

from __future__ import annotations

from pylon_dagster.catalog.tablespec import DELETED_AT
from pylon_dagster.warehouse.sql import qualified

LIVE_ISSUE_CONDITION = f"{DELETED_AT} IS NULL"
"""Issues the deletion pass found gone from Pylon keep their row, marked (`assets/issue_deletions.py`)."""


def live_issues(schema: str) -> str:
    """A FROM item of the live rows of `issues` (use it with an alias: `{live_issues(s)} AS i`)."""
    return f"(SELECT * FROM {qualified(schema, 'issues')} WHERE {LIVE_ISSUE_CONDITION})"
