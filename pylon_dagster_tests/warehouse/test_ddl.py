"""Tables derived from the specs, and additive evolution of their typed columns."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.state_tables import STATE_TABLES
from pylon_dagster.catalog.tables import TABLES, declared_tables, table_schema
from pylon_dagster.catalog.tablespec import TableSpec, WriteMode, col
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.warehouse.helpers import column, issue, load, rows

STREAMS = {
    "issues": "id",
    "issue_messages": "id",
    "issue_threads": "id",
    "accounts": "id",
    "contacts": "id",
    "users": "id",
    "teams": "id",
    "tags": "id",
    "custom_fields": "id",
    "knowledge_bases": "id",
    "knowledge_base_articles": "id",
    "knowledge_base_collections": "id",
    "ticket_forms": "id",
    "user_roles": "id",
    "activity_types": "id",
    "issue_statuses": "slug",
    "tasks": "id",
}


def columns_in_database(warehouse: PostgresWarehouse) -> dict[str, list[str]]:
    query = sa.text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = :schema ORDER BY table_name, ordinal_position"
    )
    found: dict[str, list[str]] = {}
    with warehouse.transaction() as tx:
        for table, name in tx.connection.execute(query, {"schema": warehouse.schema_name}):
            found.setdefault(table, []).append(name)
    return found


def primary_keys(warehouse: PostgresWarehouse) -> dict[str, list[str]]:
    query = sa.text(
        "SELECT c.relname, a.attname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indisprimary AND n.nspname = :schema ORDER BY c.relname, a.attnum"
    )
    keys: dict[str, list[str]] = {}
    with warehouse.transaction() as tx:
        for table, name in tx.connection.execute(query, {"schema": warehouse.schema_name}):
            keys.setdefault(table, []).append(name)
    return keys


def test_every_stream_has_its_table(warehouse: PostgresWarehouse):
    warehouse.ensure_tables()
    found = columns_in_database(warehouse)
    metric_tables = {"support_daily_metrics", "account_support_summary"}
    assert set(found) == {*STREAMS, "issues_history", *metric_tables, *STATE_TABLES}
    keys = primary_keys(warehouse)
    with warehouse.engine.connect() as connection:
        comments = dict(
            connection.execute(
                sa.text(
                    "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relkind = 'r'"
                ),
                {"schema": warehouse.schema_name},
            ).all()
        )
    for stream, key in STREAMS.items():
        assert keys[stream] == [key]
        assert comments[stream] == TABLES[stream].description
        deleted = ["_deleted_at"] if TABLES[stream].soft_delete else []
        assert found[stream][-2 - len(deleted) :] == ["raw", "_synced_at", *deleted]
        assert found[stream] == list(TABLES[stream].column_names)
    assert keys["issues_history"] == ["id", "updated_at"]
    for child, parent_key in [
        ("issue_messages", "issue_id"),
        ("issue_threads", "issue_id"),
        ("knowledge_base_articles", "knowledge_base_id"),
        ("knowledge_base_collections", "knowledge_base_id"),
    ]:
        assert found[child][1] == parent_key
    contract = (
        "account_id requester_id requester_email assignee_id team_id tags first_response_time"
    )
    assert set(contract.split()) <= set(found["issues"])


def test_ensure_tables_is_idempotent(warehouse: PostgresWarehouse):
    warehouse.ensure_tables()
    load(warehouse, "issues", [[issue("i1", "2026-03-01T00:00:00Z")]])
    warehouse.ensure_tables()
    assert len(rows(warehouse, "issues")) == 1


def test_a_new_typed_column_is_added_and_filled_from_raw(
    warehouse: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
):
    warehouse.ensure_tables()
    stored = [
        issue("i1", "2026-03-01T00:00:00Z", active_time_seconds=42, workspace_email="s@x.io"),
        issue("i2", "2026-03-01T00:00:00Z"),
    ]
    load(warehouse, "issues", [stored])
    before = rows(warehouse, "issues")

    spec = TABLES["issues"]
    extra = (col("active_time_seconds", "bigint"), col("workspace_email"))
    monkeypatch.setitem(TABLES, "issues", dataclasses.replace(spec, columns=spec.columns + extra))
    warehouse.ensure_tables()

    after = rows(warehouse, "issues")
    assert [{k: r[k] for k in before[0]} for r in after] == before  # nothing else changed
    assert column(warehouse, "issues", "active_time_seconds") == {"i1": 42, "i2": None}
    assert column(warehouse, "issues", "workspace_email") == {"i1": "s@x.io", "i2": None}

    load(warehouse, "issues", [[issue("i3", "2026-03-02T00:00:00Z", active_time_seconds=7)]])
    assert column(warehouse, "issues", "active_time_seconds")["i3"] == 7


def test_table_schema_describes_every_column():
    for name, spec in TABLES.items():
        schema = table_schema(name)
        assert [c.name for c in schema.columns] == list(spec.column_names)
        assert all(c.description for c in schema.columns)
    issues = {c.name: c for c in table_schema("issues").columns}
    assert issues["updated_at"].type == "timestamptz"
    assert issues["tags"].type == "text[]"
    assert issues["id"].constraints.nullable is False


@pytest.mark.parametrize(
    "changes",
    [
        {"parent_key": "issue_id"},  # a parent key needs replace_per_parent
        {"mode": WriteMode.APPEND},  # append needs a version
        {"version": "title"},  # a version must be a timestamptz column
        {"columns": (col("raw"),)},  # clashes with a standard column
        {"name": "Issues"},  # not a plain name
        {"mode": WriteMode.REPLACE, "soft_delete": True},  # only a merge table keeps marked rows
        {"indexes": (("state",),)},  # not a column
        {"indexes": (("title DESC",),)},  # the one descending order is DESC NULLS LAST
        {"indexes": ((),)},  # no column
        {"indexes": (("title",), ("title",))},  # twice
        {"name": "t" * 60, "indexes": (("title",),)},  # its name would be over 63 characters
    ],
)
def test_inconsistent_specs_are_rejected(changes):
    base = TableSpec("t", WriteMode.MERGE, (col("title"),), "A table.")
    with pytest.raises(ValueError):
        dataclasses.replace(base, **changes)


def index_definitions(warehouse: PostgresWarehouse) -> dict[str, str]:
    """{index name: its definition, without the schema} of every index in the schema."""
    query = sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :schema")
    with warehouse.transaction() as tx:
        found = tx.connection.execute(query, {"schema": warehouse.schema_name}).all()
    return {name: definition.replace(f"{warehouse.schema_name}.", "") for name, definition in found}


def test_declared_indexes_exist_with_stable_names(warehouse: PostgresWarehouse):
    warehouse.ensure_tables()
    indexes = index_definitions(warehouse)
    assert indexes["issues_account_id_created_at_desc_number_desc_idx"] == (
        "CREATE INDEX issues_account_id_created_at_desc_number_desc_idx ON issues USING btree "
        "(account_id, created_at DESC NULLS LAST, number DESC NULLS LAST)"
    )
    assert indexes["issues_account_id_requester_id_created_at_desc_number_desc_idx"].endswith(
        "(account_id, requester_id, created_at DESC NULLS LAST, number DESC NULLS LAST)"
    )
    assert indexes["issue_messages_issue_id_idx"].endswith("USING btree (issue_id)")
    expected = {index.name for spec in declared_tables() for index in spec.all_indexes}
    assert "pylon_rate_slots_by_endpoint" in expected
    primary = {f"{spec.name}_pkey" for spec in declared_tables() if spec.primary_key}
    assert set(indexes) == expected | primary | {"webhook_events_content_sha256_key"}


def test_a_missing_index_is_created_on_an_existing_table(warehouse: PostgresWarehouse):
    warehouse.ensure_tables()
    load(warehouse, "issues", [[issue("i1", "2026-03-01T00:00:00Z", account={"id": "a1"})]])
    name = "issues_account_id_created_at_desc_number_desc_idx"
    with warehouse.transaction() as tx:
        tx.connection.exec_driver_sql(f'DROP INDEX "{warehouse.schema_name}"."{name}"')
    assert name not in index_definitions(warehouse)
    warehouse.ensure_tables()
    assert name in index_definitions(warehouse)
    assert column(warehouse, "issues", "account_id") == {"i1": "a1"}
