"""The checks of a run of partitions read only its days; the scheduled job reads whole tables."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.common import asset_key
from pylon_dagster.dagster_adapter import day_range_tags
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.fixtures.emulator import EMULATOR_NOW
from pylon_dagster_tests.fixtures.pipeline import Pipeline

LAST_DAY = EMULATOR_NOW.date()
FIRST_DAY = LAST_DAY - timedelta(days=1)
"""The days of the checked run: yesterday and today, as the daily schedule asks."""
DAY_TAGS = day_range_tags(FIRST_DAY.isoformat(), LAST_DAY.isoformat())
ORPHANS = dg.AssetCheckKey(asset_key("issue_messages"), "belongs_to_known_issue")


def _evaluations(
    pipeline: Pipeline, job: str, **tags: str
) -> dict[dg.AssetCheckKey, dg.AssetCheckEvaluation]:
    result = pipeline.defs.resolve_job_def(job).execute_in_process(
        instance=pipeline.instance, tags=tags, raise_on_error=False
    )
    return {e.asset_check_key: e for e in result.get_asset_check_evaluations()}


def _run_checks(pipeline: Pipeline) -> dict[dg.AssetCheckKey, dg.AssetCheckEvaluation]:
    """A run of `issues` and its children over the two days, with their checks."""
    return _evaluations(pipeline, "pylon_issues_job", **DAY_TAGS)


def _issue_with_messages(pipeline: Pipeline, inside: bool) -> str:
    """An issue with messages, updated in the run's days or before them."""
    schema = pipeline.warehouse.schema_name
    side = ">=" if inside else "<"
    query = sa.text(
        f"SELECT i.id FROM {qualified(schema, 'issues')} i WHERE i.updated_at {side} :start "
        f"AND EXISTS (SELECT 1 FROM {qualified(schema, 'issue_messages')} m "
        "WHERE m.issue_id = i.id) ORDER BY i.id LIMIT 1"
    )
    with pipeline.warehouse.engine.connect() as connection:
        return connection.execute(query, {"start": FIRST_DAY}).scalar_one()


def _drop_issue_row(pipeline: Pipeline, issue_id: str) -> None:
    """The issue's row gone from the warehouse (its messages stay): a defect no sync makes."""
    with pipeline.warehouse.engine.begin() as connection:
        connection.execute(
            sa.text(
                f"DELETE FROM {qualified(pipeline.warehouse.schema_name, 'issues')} WHERE id = :id"
            ),
            {"id": issue_id},
        )


def _orphaned_issues(evaluation: dg.AssetCheckEvaluation) -> set[str]:
    return {example["issue_id"] for example in evaluation.metadata["examples"].value}


def test_scoped_checks_fail_on_a_planted_defect_in_the_run_s_days_only(pipeline: Pipeline):
    pipeline.sync(start=LAST_DAY - timedelta(days=5), end=LAST_DAY)
    outside, inside = _issue_with_messages(pipeline, False), _issue_with_messages(pipeline, True)

    _drop_issue_row(pipeline, outside)
    checks = _run_checks(pipeline)
    assert all(e.passed for e in checks.values()), checks
    assert checks[ORPHANS].metadata["scope"].value == "run's days"
    # The primary key makes duplicate keys impossible: nothing to read.
    unique = checks[dg.AssetCheckKey(asset_key("issues"), "primary_key_unique")]
    assert unique.metadata["enforced_by"].value.endswith("issues_pkey")

    # Deleted in Pylon and gone from the warehouse: its messages, fetched for these days, remain.
    pipeline.emulator.delete_issue(inside)
    _drop_issue_row(pipeline, inside)
    checks = _run_checks(pipeline)
    assert not checks[ORPHANS].passed
    assert _orphaned_issues(checks[ORPHANS]) == {inside}

    whole = _evaluations(pipeline, "pylon_warehouse_checks_job")
    assert not whole[ORPHANS].passed and whole[ORPHANS].metadata["scope"].value == "whole table"
    assert _orphaned_issues(whole[ORPHANS]) == {inside, outside}
    # The checks alone, launched for the days (no asset of the run names its partitions).
    alone = _evaluations(pipeline, "pylon_warehouse_checks_job", **DAY_TAGS)
    assert _orphaned_issues(alone[ORPHANS]) == {inside}


def test_the_whole_table_check_counts_duplicates_of_a_key_without_its_constraint(
    pipeline: Pipeline,
):
    pipeline.sync(start=LAST_DAY, end=LAST_DAY)
    accounts = qualified(pipeline.warehouse.schema_name, "accounts")
    with pipeline.warehouse.engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE {accounts} DROP CONSTRAINT accounts_pkey"))
        connection.execute(sa.text(f"INSERT INTO {accounts} SELECT * FROM {accounts} LIMIT 1"))

    unique = _evaluations(pipeline, "pylon_warehouse_checks_job")[
        dg.AssetCheckKey(asset_key("accounts"), "primary_key_unique")
    ]
    assert not unique.passed
    assert unique.metadata["duplicate_keys"].value == 1
