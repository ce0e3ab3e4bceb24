"""The deletion sweep's state: where the next slice starts, how far it reaches, and who moves it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.deletion_sweep import advance_sweep, slice_end, sweep_position
from pylon_dagster_tests.warehouse.helpers import issue, load

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
CREATED = {
    "old": "2025-01-01T00:00:00Z",
    "mid-1": "2026-02-01T00:00:00Z",
    "mid-2": "2026-02-01T00:00:00Z",
    "mid-3": "2026-02-01T00:00:00Z",
    "new": "2026-03-02T00:00:00Z",
}


def _at(text: str) -> datetime:
    moment = parse_timestamp(text)
    assert moment is not None
    return moment


@pytest.fixture
def wh(warehouse: PostgresWarehouse) -> PostgresWarehouse:
    """Five issues updated after `SINCE`, three of them created at the same instant, and one
    updated before it (never judged, so never counted in a slice)."""
    warehouse.ensure_tables()
    stored = [issue(i, "2026-03-05T00:00:00Z", created_at=c) for i, c in CREATED.items()]
    stored.append(issue("stale", "2026-02-27T00:00:00Z", created_at="2024-01-01T00:00:00Z"))
    load(warehouse, "issues", [stored])
    return warehouse


def _end(warehouse: PostgresWarehouse, created_from: datetime | None, rows: int) -> datetime | None:
    with warehouse.transaction() as tx:
        return slice_end(
            tx.connection,
            tx.schema,
            "issues",
            version_from=SINCE,
            created_from=created_from,
            rows=rows,
        )


def test_a_slice_ends_after_its_rows_and_takes_every_row_of_an_instant_it_starts_at(wh):
    mid, new = _at(CREATED["mid-1"]), _at(CREATED["new"])
    # Open below: "old" alone, then "old" and the three created at `mid` (the stale one is not
    # counted: it was updated before SINCE).
    assert _end(wh, None, 1) == mid
    assert _end(wh, None, 4) == new
    # From `mid`, a slice of one row would hold none of the three: it takes them all.
    assert _end(wh, mid, 1) == new
    # The rest fits: the cycle's last slice, open above.
    assert _end(wh, new, 1) is None
    assert _end(wh, None, 5) is None


def test_the_sweep_starts_open_moves_on_once_per_position_and_starts_over(wh):
    mid = _at(CREATED["mid-1"])
    with wh.transaction() as tx:
        assert sweep_position(tx.connection, tx.schema, "issues") is None
        assert advance_sweep(tx.connection, tx.schema, "issues", position=None, to=mid)
    with wh.transaction() as tx:
        # A second pass that read the same position finds the sweep moved: it stays.
        assert not advance_sweep(
            tx.connection, tx.schema, "issues", position=None, to=_at(CREATED["new"])
        )
        assert sweep_position(tx.connection, tx.schema, "issues") == mid
        assert advance_sweep(tx.connection, tx.schema, "issues", position=mid, to=None)
    with wh.transaction() as tx:
        assert sweep_position(tx.connection, tx.schema, "issues") is None
