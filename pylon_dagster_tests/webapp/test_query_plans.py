"""The sidebar's reads, and the removal of deleted issues' children, use the indexes declared with
the tables, on a seeded and analyzed table.

Every statement a real `fetch_data` render (or removal) sends is recorded and explained again with
its own parameters, so the check follows `webapp/queries.py` whatever its queries become.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.streams import children_of
from pylon_dagster.catalog.tables import TABLES
from pylon_dagster.catalog.tablespec import DELETED_AT
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.deletions import remove_children_of_deleted
from pylon_dagster.warehouse.sql import ident, qualified
from pylon_dagster.webapp.queries import SidebarQueries
from pylon_dagster.webapp.sidebar import FetchRequest, render
from pylon_dagster_tests.webapp.conftest import load
from pylon_emulator import Dataset, generate

ISSUES = TABLES["issues"]
DECLARED = [index.name for index in ISSUES.all_indexes if index.terms in ISSUES.indexes]
Statement = tuple[str, dict[str, Any]]
NOW = datetime(2026, 3, 14, 12, tzinfo=UTC)
"""The seeded dataset's clock: the plans read stored rows only, never the real date."""


@pytest.fixture(scope="module")
def seeded() -> Dataset:
    """Enough issues in enough accounts that reading all of them costs more than an index."""
    return generate(5, issues=6000, now=NOW, days=365, accounts=150, contacts=1500)


@pytest.fixture
def analyzed(warehouse: PostgresWarehouse, seeded: Dataset) -> PostgresWarehouse:
    load(warehouse, seeded)
    with warehouse.transaction() as tx:
        for table in ("issues", "accounts", "contacts"):
            tx.connection.exec_driver_sql(f"ANALYZE {qualified(warehouse.schema_name, table)}")
    return warehouse


@contextmanager
def recording(connection: sa.Connection, kinds: tuple[str, ...]) -> Iterator[list[Statement]]:
    """The statements of `kinds` (their first words) sent on `connection` meanwhile, with their
    parameters."""
    sent: list[Statement] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(kinds):
            sent.append((statement, dict(parameters or {})))

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)


def sidebar_statements(warehouse: PostgresWarehouse, dataset: Dataset) -> list[Statement]:
    """What rendering one issue's sidebar sends to Postgres (the issue, its account, requester):
    one statement."""
    issue = next(i for i in dataset.issues if i["account"] and i["requester"])
    request = FetchRequest(
        issue_id=issue["id"],
        account_id=issue["account"]["id"],
        requester_id=issue["requester"]["id"],
        requester_email=issue["requester"]["email"],
    )
    with warehouse.transaction() as tx, recording(tx.connection, ("SELECT", "WITH")) as sent:
        render(SidebarQueries(tx.connection, warehouse.schema_name), request)
    # One statement reads the issue's owner, its account, the summary and the requester's issues.
    assert len(sent) == 1, sent
    return sent


def scans(plan: dict[str, Any]) -> Iterator[tuple[str, str | None, str | None]]:
    """(node type, relation, index) of every scan of an EXPLAIN (FORMAT JSON) plan. A bitmap
    heap scan's relation goes with the index of the bitmap index scan below it."""
    children = plan.get("Plans", ())
    if plan["Node Type"] == "Bitmap Heap Scan":
        for child in children:
            yield "Bitmap Index Scan", plan["Relation Name"], child.get("Index Name")
        return
    if "Scan" in plan["Node Type"]:
        yield plan["Node Type"], plan.get("Relation Name"), plan.get("Index Name")
    for child in children:
        yield from scans(child)


def issue_scans(warehouse: PostgresWarehouse, statements: list[Statement]) -> list[tuple]:
    found = []
    with warehouse.transaction() as tx:
        for statement, parameters in statements:
            (plan,) = tx.connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, parameters or None
            ).scalar_one()
            found += [s for s in scans(plan["Plan"]) if s[1] in {"issues", "contacts"}]
    return found


def test_the_sidebar_reads_issues_through_the_declared_indexes(
    analyzed: PostgresWarehouse, seeded: Dataset
) -> None:
    statements = sidebar_statements(analyzed, seeded)
    with_indexes = issue_scans(analyzed, statements)
    assert with_indexes
    assert not [s for s in with_indexes if s[0] == "Seq Scan"], with_indexes
    used = {index for _, relation, index in with_indexes if relation == "issues"}
    assert used & set(DECLARED), with_indexes
    assert used <= {*DECLARED, f"{ISSUES.name}_pkey"}, with_indexes

    # The same statements without the declared indexes read the whole table: the check can fail.
    with analyzed.transaction() as tx:
        for name in DECLARED:
            tx.connection.exec_driver_sql(f"DROP INDEX {ident(analyzed.schema_name)}.{ident(name)}")
    without = issue_scans(analyzed, statements)
    assert ("Seq Scan", "issues", None) in without, without


def test_the_children_of_deleted_issues_are_found_through_the_deleted_at_index(
    analyzed: PostgresWarehouse, seeded: Dataset
) -> None:
    """Each child stream's run removes the children of the issues marked deleted: a few among
    many, found without reading every issue."""
    issues = qualified(analyzed.schema_name, "issues")
    with analyzed.transaction() as tx:
        tx.connection.execute(
            sa.text(f"UPDATE {issues} SET {DELETED_AT} = now() WHERE id = ANY(:ids)"),
            {"ids": [issue["id"] for issue in seeded.issues[:3]]},
        )
        tx.connection.exec_driver_sql(f"ANALYZE {issues}")
    with analyzed.transaction() as tx, recording(tx.connection, ("DELETE",)) as statements:
        remove_children_of_deleted(tx.connection, tx.schema, "issues")
    assert len(statements) == 2 * len(children_of("issues")), statements

    index = next(i.name for i in ISSUES.all_indexes if i.terms == (DELETED_AT,))
    with_index = issue_scans(analyzed, statements)
    assert {s[2] for s in with_index} == {index}, with_index

    # Without it, every issue is read: the check can fail.
    with analyzed.transaction() as tx:
        tx.connection.exec_driver_sql(f"DROP INDEX {ident(analyzed.schema_name)}.{ident(index)}")
    assert ("Seq Scan", "issues", None) in issue_scans(analyzed, statements)
