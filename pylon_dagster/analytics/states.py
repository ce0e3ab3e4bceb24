"""Which issue states are closed: Pylon's `closed`, and every status in the `closed` category."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from pylon_dagster.warehouse.frames import read_frame
from pylon_dagster.warehouse.sql import qualified

CLOSED = "closed"
"""Pylon's built-in closed state: closed even before `issue_statuses` is synced."""


def closed_states(connection: sa.Connection, schema: str) -> frozenset[str]:
    statuses = read_frame(
        connection,
        f"SELECT slug FROM {qualified(schema, 'issue_statuses')} WHERE category = :category",
        {"category": CLOSED},
    )
    return frozenset(statuses["slug"]) | {CLOSED}


def is_open(states: pd.Series, closed: frozenset[str]) -> pd.Series:
    """True for an open state, including no state at all."""
    return ~states.isin(closed)
