"""Issues deleted in Pylon: marked by `pylon-dagster sync`, never by a listing that failed or fell
short, and un-marked when they come back.

The end-to-end test runs the real command in a subprocess against the emulator served from this
process; the others run the deletion job in-process on the same real parts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.assets.issue_deletions import CONFIRM_WORKERS
from pylon_dagster.automation.failures import error_text
from pylon_dagster.sync import issue_days
from pylon_dagster.webapp.queries import SidebarQueries
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.cli_process import cli_env, run_cli
from pylon_dagster_tests.reliability.helpers import (
    CHILD_STREAMS,
    DATA_END,
    FULL_START,
    deletion_marks,
    deletion_metadata,
    run_deletion_pass,
    run_deletion_pass_without_retries,
)

SHORT_RANGE = ("--start", (DATA_END - timedelta(days=2)).isoformat(), "--end", DATA_END.isoformat())


def children_parents(pipeline: Pipeline, table: str) -> set[str]:
    query = f'SELECT DISTINCT issue_id FROM "{pipeline.warehouse.schema_name}"."{table}"'
    with pipeline.warehouse.engine.connect() as connection:
        return set(connection.execute(sa.text(query)).scalars())


def sidebar_numbers(pipeline: Pipeline, account_id: str) -> set[int]:
    """The issue numbers the sidebar lists for an account."""
    with pipeline.warehouse.engine.connect() as connection:
        queries = SidebarQueries(connection, pipeline.warehouse.schema_name)
        return {issue.number for issue in queries.latest_issues(account_id, limit=1000)}


def metrics_counts(pipeline: Pipeline, account_id: str) -> tuple[int, int, int, int]:
    """Issues created on any day by the daily metrics, the account's open issues by its
    summary, and (independently) the account's open issues stored: live ones, and all."""
    schema = pipeline.warehouse.schema_name
    with pipeline.warehouse.engine.connect() as connection:
        created = connection.execute(
            sa.text(
                f'SELECT coalesce(sum(issues_created), 0) FROM "{schema}".support_daily_metrics'
            )
        ).scalar_one()
        summary_open, live_open, all_open = connection.execute(
            sa.text(
                "SELECT s.open_issues, count(*) FILTER (WHERE i._deleted_at IS NULL), count(*) "
                f'FROM "{schema}".account_support_summary AS s JOIN "{schema}".issues AS i '
                "  ON i.account_id = s.account_id AND i.state IS DISTINCT FROM 'closed' AND "
                f'  i.state NOT IN (SELECT slug FROM "{schema}".issue_statuses '
                "  WHERE category = 'closed') "
                "WHERE s.account_id = :account_id GROUP BY s.open_issues"
            ),
            {"account_id": account_id},
        ).one()
    return created, summary_open, live_open, all_open


@pytest.mark.slow
def test_sync_marks_deleted_issues_and_unmarks_one_that_comes_back(
    pipeline: Pipeline, tmp_path: Path
):
    pipeline.sync(FULL_START, DATA_END)
    emulator = pipeline.emulator
    messages, threads = emulator.truth("issue_messages"), emulator.truth("issue_threads")
    by_account: dict[str, list[dict]] = defaultdict(list)
    for issue in emulator.truth("issues"):
        if issue["account"]:
            by_account[issue["account"]["id"]].append(issue)

    first_day = issue_days(pipeline.defs).get_first_partition_key()

    def with_children(issues: list[dict]) -> list[dict]:
        """Issues with messages and threads, created on a day the partitions (and metrics) have."""
        return [
            i
            for i in issues
            if messages.get(i["id"]) and threads.get(i["id"]) and i["created_at"] >= first_day
        ]

    account_id, issues = max(by_account.items(), key=lambda item: len(with_children(item[1])))
    # The oldest with messages and threads: their days are far outside the short range synced.
    deleted = with_children(issues)[:2]
    victims = [issue["id"] for issue in deleted]
    numbers = {issue["number"] for issue in issues}
    assert sidebar_numbers(pipeline, account_id) == numbers
    children_before = {t: pipeline.rows(t) for t in CHILD_STREAMS}
    assert all(set(victims) <= children_parents(pipeline, t) for t in CHILD_STREAMS)
    # Open victims, so both metrics must move.
    for victim in victims:
        emulator.update_issue(victim, state="on_hold")
    pipeline.sync(FULL_START, DATA_END)
    created_before, open_before, live_open_before, _ = metrics_counts(pipeline, account_id)
    assert open_before == live_open_before
    for victim in victims:
        emulator.delete_issue(victim)
    env = cli_env(pipeline.server, pipeline.warehouse, tmp_path)

    result = run_cli(env, *SHORT_RANGE)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "issue deletions: ok" in output and "2 issues marked deleted, 0 un-marked" in output
    marks = deletion_marks(pipeline)
    assert {i for i, mark in marks.items() if mark is not None} == set(victims)
    live = {i: raw for i, raw in pipeline.rows("issues").items() if i not in victims}
    assert live == pipeline.truth("issues")  # the others untouched
    for table in CHILD_STREAMS:
        assert not children_parents(pipeline, table) & set(victims)
        assert pipeline.rows(table) == pipeline.truth(table)
        assert pipeline.rows(table).items() <= children_before[table].items()
    gone = {issue["number"] for issue in deleted}
    assert sidebar_numbers(pipeline, account_id) == numbers - gone
    # The short sync recomputed the metrics of the victims' own days too (their creation days
    # are far outside the days it synced); the summary leaves out the open issues still stored,
    # marked deleted.
    created, summary_open, live_open, all_open = metrics_counts(pipeline, account_id)
    assert created == created_before - len(victims)
    assert summary_open == live_open < all_open

    emulator.restore_issue(victims[0])
    again = run_cli(env, *SHORT_RANGE)

    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    assert "0 issues marked deleted, 1 un-marked" in output
    marks = deletion_marks(pipeline)
    assert marks[victims[0]] is None and marks[victims[1]] is not None
    back = {deleted[0]["number"]}
    assert sidebar_numbers(pipeline, account_id) == numbers - gone | back
    # Its children come back with the next run of its day.
    day = datetime.fromisoformat(deleted[0]["updated_at"].replace("Z", "+00:00")).date()
    pipeline.sync(day, day)
    for table in CHILD_STREAMS:
        assert pipeline.rows(table) == pipeline.truth(table)


def test_a_failed_listing_marks_nothing_and_the_next_pass_does(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
):
    pipeline.sync(FULL_START, DATA_END)
    victim = pipeline.emulator.truth("issues")[0]["id"]
    pipeline.emulator.delete_issue(victim)
    pipeline.emulator.set_faults(server_error_rate=1.0)
    before = {t: pipeline.rows(t) for t in ("issues", *CHILD_STREAMS)}

    failed = run_deletion_pass_without_retries(pipeline, monkeypatch)

    assert not failed.success
    (step_failure,) = failed.get_step_failure_events()
    assert "PylonUnavailableError" in error_text(step_failure.step_failure_data.error)
    assert all(mark is None for mark in deletion_marks(pipeline).values())
    assert {t: pipeline.rows(t) for t in before} == before
    pipeline.emulator.clear_faults()
    assert deletion_metadata(run_deletion_pass(pipeline))["issues_marked_deleted"] == 1
    assert {i for i, m in deletion_marks(pipeline).items() if m is not None} == {victim}


def test_a_listing_cut_short_or_empty_marks_nothing_for_a_request_or_few(pipeline: Pipeline):
    pipeline.sync(FULL_START, DATA_END)
    emulator = pipeline.emulator
    victim = emulator.truth("issues")[-1]["id"]  # the newest: never in a listing cut short
    emulator.delete_issue(victim)
    before = {t: pipeline.rows(t) for t in ("issues", *CHILD_STREAMS)}

    for cap in (10, 0):
        emulator.set_faults(search_result_cap=cap)
        emulator.reset_counters()
        result = run_deletion_pass(pipeline)

        assert result.success
        metadata = deletion_metadata(result)
        assert metadata["listing_complete"] is False
        assert metadata["issues_marked_deleted"] == 0
        assert metadata["sweep_moved_on"] is False  # the next pass judges the same slice
        assert metadata["issues_missing"] > 100  # almost every issue seemed gone
        assert all(mark is None for mark in deletion_marks(pipeline).values())
        assert {t: pipeline.rows(t) for t in before} == before
        # Confirming stops at the first issue that answers: it never asks about each one.
        assert emulator.counters().requests["GET /issues/{id}"] <= CONFIRM_WORKERS

    emulator.clear_faults()
    metadata = deletion_metadata(run_deletion_pass(pipeline))
    assert (metadata["listing_complete"], metadata["issues_marked_deleted"]) == (True, 1)
    assert metadata["sweep_moved_on"] is True
