"""The headless sync's runs side by side: the reference streams and every issues window at once,
each window committed on its own, ending equal to the emulator."""

from __future__ import annotations

import itertools

import dagster as dg

from pylon_dagster.jobs import issues_job, reference_job
from pylon_dagster.sync import SyncRun
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.helpers import (
    assert_equals_truth,
    assert_no_duplicates,
    full_sync,
    succeeded,
)


def _spans(
    pipeline: Pipeline, runs: list[SyncRun], job_names: set[str]
) -> list[tuple[float, float]]:
    """(start, end) times of the sync's runs of `job_names`, from the instance's run records."""
    records = pipeline.instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id for run in runs]))
    return sorted(
        (record.start_time, record.end_time)
        for record in records
        if record.dagster_run.job_name in job_names
    )


def test_the_first_stage_runs_side_by_side_and_ends_equal_to_the_emulator(pipeline: Pipeline):
    runs = full_sync(pipeline)

    assert succeeded(runs), [run.error for run in runs]
    spans = _spans(pipeline, runs, {issues_job.name, reference_job.name})
    windows = len([run for run in runs if run.label.startswith("issues ")])
    assert windows >= 2 and len(spans) == windows + 1
    # Some run started before an earlier one ended: they overlapped.
    overlaps = [later for earlier, later in itertools.pairwise(spans) if later[0] < earlier[1]]
    assert overlaps, spans
    assert_equals_truth(pipeline)
    assert_no_duplicates(pipeline)
