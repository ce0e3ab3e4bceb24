"""Which issues need their children fetched, remembered in the same transaction as the load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pylon_dagster.warehouse import ChildBatch, PostgresWarehouse
from pylon_dagster.warehouse.bookkeeping import (
    changed_parents,
    known_parent_ids,
    mark_fetched,
    stored_parent_ids,
)
from pylon_dagster_tests.warehouse.helpers import issue, load

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)


def day(d: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, d, hour, tzinfo=UTC)


def changed(warehouse: PostgresWarehouse, stream: str = "issue_messages") -> list[tuple]:
    with warehouse.transaction() as tx:
        return changed_parents(tx.connection, tx.schema, stream, "issues", START, END)


@pytest.fixture
def wh(warehouse: PostgresWarehouse) -> PostgresWarehouse:
    warehouse.ensure_tables()
    load(
        warehouse,
        "issues",
        [
            [
                issue("before", "2026-02-28T23:59:59Z"),
                issue("start", "2026-03-01T00:00:00Z"),
                issue("inside", "2026-03-02T12:00:00Z"),
                issue("end", "2026-03-03T00:00:00Z"),
            ]
        ],
    )
    return warehouse


def test_never_fetched_issues_in_the_window_are_returned_in_order(wh: PostgresWarehouse):
    assert changed(wh) == [("start", day(1)), ("inside", day(2, 12))]


def test_fetched_issues_come_back_only_when_they_change(wh: PostgresWarehouse):
    with wh.transaction() as tx:
        todo = changed_parents(tx.connection, tx.schema, "issue_messages", "issues", START, END)
        tx.load("issue_messages", [ChildBatch(issue_id, []) for issue_id, _ in todo])
        mark_fetched(tx.connection, tx.schema, "issue_messages", todo)
    assert changed(wh) == []
    assert changed(wh, "issue_threads") == [("start", day(1)), ("inside", day(2, 12))]

    load(wh, "issues", [[issue("inside", "2026-03-02T13:00:00Z")]])
    assert changed(wh) == [("inside", day(2, 13))]


def test_parents_whose_stored_children_are_gone_count_as_changed(wh: PostgresWarehouse):
    """Emptied by hand: the state claims children the table no longer holds. A parent fetched
    with no children is not asked for again."""
    with wh.transaction() as tx:
        todo = changed_parents(tx.connection, tx.schema, "issue_messages", "issues", START, END)
        tx.load(
            "issue_messages",
            [ChildBatch("start", [{"id": "m1"}, {"id": "m2"}]), ChildBatch("inside", [])],
        )
        mark_fetched(tx.connection, tx.schema, "issue_messages", todo)
    assert changed(wh) == []

    with wh.engine.begin() as connection:
        connection.execute(sa.text(f'DELETE FROM "{wh.schema_name}"."issue_messages"'))
    assert changed(wh) == [("start", day(1))]


def test_marks_roll_back_with_a_failed_load(wh: PostgresWarehouse):
    with pytest.raises(RuntimeError), wh.transaction() as tx:
        mark_fetched(
            tx.connection, tx.schema, "issue_messages", [("start", day(1)), ("start", day(1))]
        )
        raise RuntimeError("the child fetch failed")
    assert changed(wh) == [("start", day(1)), ("inside", day(2, 12))]


def test_parent_ids(wh: PostgresWarehouse):
    load(wh, "knowledge_bases", [[{"id": "kb2"}, {"id": "kb1"}]])
    load(
        wh,
        "knowledge_base_articles",
        [ChildBatch("kb1", [{"id": "a"}]), ChildBatch("kb9", [{"id": "b"}])],
    )
    with wh.transaction() as tx:
        assert known_parent_ids(tx.connection, tx.schema, "knowledge_bases") == ["kb1", "kb2"]
        assert stored_parent_ids(tx.connection, tx.schema, "knowledge_base_articles") == [
            "kb1",
            "kb9",
        ]
        with pytest.raises(ValueError, match="not a child table"):
            stored_parent_ids(tx.connection, tx.schema, "accounts")
