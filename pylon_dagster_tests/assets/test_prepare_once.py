"""Dagster prepares the warehouse when it sets the resource up, and the DDL runs once: in one
process (the headless sync's runs, a test), and across the processes of steps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.tables import declared_tables
from pylon_dagster.definitions import defs
from pylon_dagster.jobs import account_summary_job
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.loader import STAGING
from pylon_dagster_tests.automation.project_jobs import RESOURCE_VAR, reconstructable_job
from pylon_dagster_tests.warehouse.catalog import function_versions, table_names

DDL_WORDS = ("CREATE", "ALTER", "COMMENT", "DROP")
LOAD_STAGING = STAGING.removeprefix("pg_temp.")
"""Every load creates and drops its staging table: DDL of the load, not of the schema."""


@pytest.fixture
def ddl_statements(warehouse: PostgresWarehouse) -> Iterator[list[str]]:
    """Every schema DDL statement this process sends to the warehouse while the test runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(DDL_WORDS) and LOAD_STAGING not in statement:
            statements.append(statement)

    engine = warehouse.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(engine, "before_cursor_execute", record)


def summary_rows(warehouse: PostgresWarehouse) -> int:
    query = f'SELECT count(*) FROM "{warehouse.schema_name}"."account_support_summary"'
    with warehouse.engine.connect() as connection:
        return connection.exec_driver_sql(query).scalar_one()


def test_materializing_twice_in_one_process_runs_the_ddl_once(
    warehouse: PostgresWarehouse, ddl_statements: list[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PYLON_API_TOKEN", "unused")  # the job needs only the warehouse
    job = defs().resolve_job_def(account_summary_job.name)
    with dg.DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
        first = list(ddl_statements)
        assert job.execute_in_process(instance=instance).success

    assert ddl_statements == first  # the second run sent no DDL at all
    functions = [s for s in first if s.lstrip().startswith("CREATE OR REPLACE FUNCTION")]
    assert len(functions) == 2
    assert len([s for s in first if s.startswith("CREATE TABLE")]) == len(declared_tables())
    assert table_names(warehouse) == {spec.name for spec in declared_tables()}
    assert summary_rows(warehouse) == 0  # written (empty) by both runs, without a failure


@pytest.mark.slow  # a run whose steps start processes of their own
def test_steps_in_processes_of_their_own_run_the_ddl_once(
    warehouse: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
):
    """Each run's step runs in a process of its own (Dagster's multiprocess executor): the second
    finds the declarations recorded and leaves the cast functions as the first created them."""
    monkeypatch.setenv(RESOURCE_VAR, json.dumps({"api_token": "unused"}))
    job = reconstructable_job(account_summary_job.name)
    with dg.instance_for_test() as instance:
        with dg.execute_job(job, instance) as result:
            assert result.success
        created = function_versions(warehouse)
        assert set(created) == {"_jsonb_to_timestamptz", "_jsonb_to_text_array"}
        with dg.execute_job(job, instance) as result:
            assert result.success
    assert function_versions(warehouse) == created
