"""The whole asset graph against the emulator, into a real Postgres, compared with the truth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import ChildBatch
from pylon_dagster_tests.fixtures.emulator import EMULATOR_DAYS, EMULATOR_NOW
from pylon_dagster_tests.fixtures.pipeline import SYNCED_STREAMS, Pipeline

DATA_END = EMULATOR_NOW.date()


def _midnight_boundary(pipeline: Pipeline) -> date:
    """A day that starts exactly at the `updated_at` of some issue (the dataset plants several)."""
    days = sorted(
        at.date()
        for at in (parse_timestamp(i["updated_at"]) for i in pipeline.truth("issues").values())
        if at is not None and at.time() == datetime.min.time()
    )
    assert days, "the dataset should hold issues updated exactly at midnight"
    return days[len(days) // 2]


def _issue_runs(pipeline: Pipeline) -> list[dg.DagsterRun]:
    runs = pipeline.instance.get_runs(dg.RunsFilter(job_name="pylon_issues_job"))
    return sorted(runs, key=lambda run: run.tags["dagster/asset_partition_range_start"])


def _run_metadata(pipeline: Pipeline, run: dg.DagsterRun, table: str) -> dict:
    """The metadata of a run's materialization of `table` (the same on each of its partitions)."""
    entries = pipeline.instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    materializations = [
        e.asset_materialization
        for e in entries
        if e.asset_materialization.asset_key.path[-1] == table
    ]
    return {k: v.value for k, v in materializations[0].metadata.items()}


def _latest_metadata(pipeline: Pipeline, table: str) -> dict:
    event = pipeline.instance.get_latest_materialization_event(dg.AssetKey(["pylon", table]))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_full_sync_equals_the_truth_including_window_boundaries_and_ties(pipeline: Pipeline):
    boundary = _midnight_boundary(pipeline)
    # Chunks of 30 days from `start`: the second chunk starts exactly on the boundary issue.
    start = boundary - timedelta(days=30)
    pipeline.sync(start=start, end=DATA_END)

    for stream in SYNCED_STREAMS:
        assert pipeline.rows(stream) == pipeline.truth(stream), stream
    assert any(
        r.tags["dagster/asset_partition_range_start"] == boundary.isoformat()
        for r in _issue_runs(pipeline)
    )
    updated = [i["updated_at"] for i in pipeline.truth("issues").values()]
    assert len(updated) > len(set(updated)), "the dataset should hold ties on updated_at"


def test_incremental_run_converges_and_fetches_children_of_changed_issues_only(
    pipeline: Pipeline,
):
    pipeline.sync(start=DATA_END - timedelta(days=EMULATOR_DAYS + 1), end=DATA_END)
    emulator = pipeline.emulator
    some = sorted(pipeline.truth("issues"))[:3]
    emulator.update_issue(some[0], state="closed", title="Ré-opened? 再开")
    emulator.add_message(some[1], message_html="<p>new reply</p>")
    created = emulator.create_issue(title="Brand new issue")
    emulator.delete_issue(some[2])
    emulator.reset_counters()

    today = datetime.now(UTC).date()
    pipeline.sync(start=today - timedelta(days=1), end=today)

    truth_issues = pipeline.truth("issues")
    stored_issues = pipeline.rows("issues")
    # A deleted issue is not in any window any more: it stays stored (no tombstones in Pylon).
    assert some[2] in stored_issues and some[2] not in truth_issues
    del stored_issues[some[2]]
    assert stored_issues == truth_issues
    for stream in ("issue_messages", "issue_threads"):
        rows, truth = pipeline.rows(stream), pipeline.truth(stream)
        assert {k: rows[k] for k in truth} == truth
        # What Pylon no longer serves is the deleted issue's children, kept like the issue.
        query = f'SELECT id, issue_id FROM "{pipeline.warehouse.schema_name}"."{stream}"'
        with pipeline.warehouse.engine.connect() as connection:
            parents = dict(connection.execute(sa.text(query)).all())
        assert {parents[k] for k in rows.keys() - truth.keys()} <= {some[2]}
    fetched = emulator.counters().child_fetches
    assert set(fetched) == {some[0], some[1], created["id"]}


def test_a_75_day_backfill_is_three_runs_of_one_search_window_each(pipeline: Pipeline):
    start = DATA_END - timedelta(days=74)
    pipeline.sync(start=start, end=DATA_END)

    runs = _issue_runs(pipeline)
    spans = [
        (
            date.fromisoformat(r.tags["dagster/asset_partition_range_end"])
            - date.fromisoformat(r.tags["dagster/asset_partition_range_start"])
        ).days
        + 1
        for r in runs
    ]
    assert spans == [30, 30, 15]
    windows = [_run_metadata(pipeline, run, "issues")["api_search_windows"] for run in runs]
    assert windows == [1, 1, 1]


def test_materializations_report_rows_api_cost_window_and_preview(pipeline: Pipeline):
    pipeline.sync(start=DATA_END - timedelta(days=10), end=DATA_END)
    metadata = _latest_metadata(pipeline, "issues")
    assert metadata["rows_inserted"] == metadata["rows_received"] > 0
    assert metadata["api_requests"] >= 1 and metadata["api_429s"] == 0
    assert metadata["window_end"] > metadata["window_start"]
    assert "| id |" in metadata["preview"]
    # The rate it ran at: the pipeline fixture tells the client the emulator's limits.
    limit = pipeline.emulator.rate_limits["POST /issues/search"]
    window = f"{pipeline.emulator.window_seconds:g}s"
    assert metadata["api_rate_limits"] == {
        "POST /issues/search": f"{limit} per {window} (configured)"
    }


@pytest.mark.parametrize("table", ["issue_messages"])
def test_asset_checks_pass_on_a_good_sync_and_fail_on_a_planted_orphan(
    pipeline: Pipeline, table: str
):
    pipeline.sync(start=DATA_END - timedelta(days=5), end=DATA_END)
    check_key = dg.AssetCheckKey(dg.AssetKey(["pylon", table]), "belongs_to_known_issue")
    checks_job = dg.define_asset_job("orphan_check", selection=dg.AssetSelection.checks(check_key))
    job = dg.Definitions.merge(pipeline.defs, dg.Definitions(jobs=[checks_job])).resolve_job_def(
        "orphan_check"
    )

    def evaluate() -> bool:
        result = job.execute_in_process(instance=pipeline.instance, raise_on_error=False)
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation.passed

    assert evaluate()
    with pipeline.warehouse.transaction() as tx:
        tx.load(table, [ChildBatch("no-such-issue", [{"id": "orphan-message", "timestamp": None}])])
    assert not evaluate()
