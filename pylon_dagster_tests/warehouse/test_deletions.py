"""Issues marked deleted: the `_deleted_at` column, marking, un-marking and the children removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from pylon_dagster.warehouse import ChildBatch, PostgresWarehouse
from pylon_dagster.warehouse.bookkeeping import changed_parents, mark_fetched
from pylon_dagster.warehouse.deletions import (
    live_keys,
    mark_deleted,
    marked_keys,
    remove_children_of_deleted,
    unmark,
)
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.warehouse.helpers import column, issue, load, rows

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
IDS = ("a", "b", "c")


def _now(warehouse: PostgresWarehouse) -> datetime:
    with warehouse.transaction() as tx:
        return tx.connection.execute(sa.text("SELECT clock_timestamp()")).scalar_one()


def _children(warehouse: PostgresWarehouse, table: str) -> dict[str, str]:
    return {row["id"]: row["issue_id"] for row in rows(warehouse, table)}


def _fetched(warehouse: PostgresWarehouse, stream: str) -> list[str]:
    with warehouse.transaction() as tx:
        return [
            i for i, _ in changed_parents(tx.connection, tx.schema, stream, "issues", START, END)
        ]


@pytest.fixture
def wh(warehouse: PostgresWarehouse) -> PostgresWarehouse:
    """Three issues with a message and a thread each, their children fetched."""
    warehouse.ensure_tables()
    stored = [issue(i, f"2026-03-0{n + 1}T12:00:00Z") for n, i in enumerate(IDS)]
    load(warehouse, "issues", [stored])
    with warehouse.transaction() as tx:
        for child in ("issue_messages", "issue_threads"):
            tx.load(child, [ChildBatch(i, [{"id": f"{child}-{i}"}]) for i in IDS])
            mark_fetched(
                tx.connection,
                tx.schema,
                child,
                [(r["id"], r["updated_at"]) for r in rows(warehouse, "issues")],
            )
    return warehouse


def test_an_existing_issues_table_gets_the_column_with_every_row_live(warehouse):
    warehouse.ensure_tables()
    load(warehouse, "issues", [[issue("old", "2026-03-01T00:00:00Z")]])
    table = qualified(warehouse.schema_name, "issues")
    with warehouse.transaction() as tx:
        tx.connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN _deleted_at")
    before = rows(warehouse, "issues")

    warehouse.ensure_tables()

    after = rows(warehouse, "issues")
    assert [{k: r[k] for k in before[0]} for r in after] == before
    assert column(warehouse, "issues", "_deleted_at") == {"old": None}


def test_marking_sets_the_time_once_and_the_sweep_removes_children_and_bookkeeping(wh):
    before = _now(wh)
    with wh.transaction() as tx:
        assert mark_deleted(tx.connection, tx.schema, "issues", ["b", "nope"]) == ["b"]
        assert mark_deleted(tx.connection, tx.schema, "issues", ["b"]) == []  # already marked
        removed = remove_children_of_deleted(tx.connection, tx.schema, "issues")
    marks = column(wh, "issues", "_deleted_at")
    assert marks["a"] is None and marks["c"] is None
    assert before <= marks["b"] <= _now(wh)
    assert removed == {"issue_messages": 1, "issue_threads": 1}
    assert set(_children(wh, "issue_messages").values()) == {"a", "c"}
    assert set(_children(wh, "issue_threads").values()) == {"a", "c"}
    assert set(column(wh, "issues", "title")) == set(IDS)  # the row stays, for audit
    # A marked issue has no children to fetch, whatever its bookkeeping says.
    with wh.transaction() as tx:
        tx.connection.exec_driver_sql(
            f"DELETE FROM {qualified(wh.schema_name, 'child_fetch_state')}"
        )
    assert _fetched(wh, "issue_messages") == ["a"]  # "b" is marked, "c" outside the window
    with wh.transaction() as tx:
        assert live_keys(
            tx.connection, tx.schema, "issues", version_from=START, synced_before=_now(wh)
        ) == [
            "a",
            "c",
        ]


def test_unmarking_clears_only_marks_older_than_the_listing_and_refetches_children(wh):
    with wh.transaction() as tx:
        mark_deleted(tx.connection, tx.schema, "issues", ["a", "b"])
        remove_children_of_deleted(tx.connection, tx.schema, "issues")
    listing_started = _now(wh)
    with wh.transaction() as tx:
        mark_deleted(tx.connection, tx.schema, "issues", ["c"])  # marked after the listing began
        assert marked_keys(tx.connection, tx.schema, "issues", listing_started) == ["a", "b"]
        assert unmark(
            tx.connection, tx.schema, "issues", ["a", "c"], marked_before=listing_started
        ) == ["a"]
    marks = column(wh, "issues", "_deleted_at")
    assert marks["a"] is None and marks["b"] is not None and marks["c"] is not None
    assert _fetched(wh, "issue_messages") == ["a"]  # its children come back on the next run
    assert _fetched(wh, "issue_threads") == ["a"]


def test_an_issue_loaded_again_is_unmarked_by_the_upsert_even_unchanged(wh):
    with wh.transaction() as tx:
        mark_deleted(tx.connection, tx.schema, "issues", ["a", "b"])
    result = load(wh, "issues", [[issue("a", "2026-03-01T12:00:00Z")]])
    assert (result.updated, result.unchanged) == (1, 0)
    marks = column(wh, "issues", "_deleted_at")
    assert marks["a"] is None and marks["b"] is not None


def test_live_keys_leave_out_rows_written_after_the_listing_began(wh):
    listing_started = _now(wh)
    load(wh, "issues", [[issue("late", "2026-03-02T00:00:00Z")]])
    with wh.transaction() as tx:
        found = live_keys(
            tx.connection,
            tx.schema,
            "issues",
            version_from=START + timedelta(days=1),
            synced_before=listing_started,
        )
    assert found == ["b", "c"]


def test_only_soft_deleted_tables_are_marked(wh):
    with wh.transaction() as tx, pytest.raises(ValueError, match="marked deleted"):
        mark_deleted(tx.connection, tx.schema, "accounts", ["a"])
