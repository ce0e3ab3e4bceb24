"""Live issues: the issues still in Pylon. Every read of `issues` for metrics or the sidebar goes
through `live_issues`, so what counts as live is decided here only."""

from __future__ import annotations

from pylon_dagster.warehouse.sql import qualified

LIVE_ISSUE_CONDITION = "TRUE"
"""MERGE NOTE: becomes `_deleted_at IS NULL` once `issues` has the `_deleted_at` column of the
deleted-issue reconciliation; nothing else changes."""


def live_issues(schema: str) -> str:
    """A FROM item of the live rows of `issues` (use it with an alias: `{live_issues(s)} AS i`)."""
    return f"(SELECT * FROM {qualified(schema, 'issues')} WHERE {LIVE_ISSUE_CONDITION})"
