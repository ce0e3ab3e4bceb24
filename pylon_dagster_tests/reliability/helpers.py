"""Shared helpers of the reliability suite: run a sync that may fail, compare with the truth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster.sync import SyncRun, deletion_pass_metadata, run_sync
from pylon_dagster_tests.automation.project_jobs import (
    RESOURCE_VAR,
    reconstructable_job,
    resource_settings,
)
from pylon_dagster_tests.fixtures.emulator import EMULATOR_DAYS, EMULATOR_NOW, emulator_resource
from pylon_dagster_tests.fixtures.pipeline import SYNCED_STREAMS, Pipeline
from pylon_dagster_tests.fixtures.step_retries import NO_STEP_RETRIES_IN_PROCESS

DATA_END = EMULATOR_NOW.date()
FULL_START = DATA_END - timedelta(days=EMULATOR_DAYS + 1)
CHILD_STREAMS = ("issue_messages", "issue_threads")


def today() -> date:
    return datetime.now(UTC).date()


def try_sync(pipeline: Pipeline, start: date, end: date) -> list[SyncRun]:
    """A sync that may fail: every run it made, in the order they ended."""
    return run_sync(pipeline.defs, pipeline.instance, start=start, end=end, echo=lambda _: None)


def full_sync(pipeline: Pipeline) -> list[SyncRun]:
    return try_sync(pipeline, FULL_START, DATA_END)


def incremental_sync(pipeline: Pipeline) -> list[SyncRun]:
    return try_sync(pipeline, today() - timedelta(days=1), today())


def failed_run(runs: list[SyncRun]) -> SyncRun:
    """The run that failed (runs of one stage that were already going end after it)."""
    assert runs, "the sync made no run"
    failed = [run for run in runs if not run.success]
    assert failed, "the sync was expected to fail"
    return failed[0]


def failure(runs: list[SyncRun]) -> str:
    return failed_run(runs).error or ""


def failed_at_once(pipeline: Pipeline, runs: list[SyncRun]) -> str:
    """The failure's message, once checked that no step of the failed run waited out a retry:
    an error no retry can fix fails the run at once."""
    retried = pipeline.instance.all_logs(
        failed_run(runs).run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
    )
    assert retried == []
    return failure(runs)


def succeeded(runs: list[SyncRun]) -> bool:
    return bool(runs) and all(run.success for run in runs)


def assert_equals_truth(pipeline: Pipeline, streams: tuple[str, ...] = SYNCED_STREAMS) -> None:
    for stream in streams:
        assert pipeline.rows(stream) == pipeline.truth(stream), stream


def assert_no_duplicates(pipeline: Pipeline) -> None:
    """No key stored twice, and no child stored under another parent than its own."""
    schema = pipeline.warehouse.schema_name
    with pipeline.warehouse.engine.connect() as connection:
        for stream in SYNCED_STREAMS:
            key = "slug" if stream == "issue_statuses" else "id"
            query = f'SELECT count(*) - count(DISTINCT "{key}") FROM "{schema}"."{stream}"'
            assert connection.execute(sa.text(query)).scalar() == 0, stream


def snapshot(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """Every warehouse table the sync writes, as `{key: raw}`."""
    return {stream: pipeline.rows(stream) for stream in SYNCED_STREAMS}


def mutate_some(pipeline: Pipeline, count: int = 3) -> list[str]:
    """Update a few issues (their `updated_at` becomes now) and add a message to one."""
    emulator = pipeline.emulator
    ids = sorted(pipeline.truth("issues"))[:count]
    for number, issue_id in enumerate(ids):
        emulator.update_issue(issue_id, state="closed", title=f"changed {number}")
    emulator.add_message(ids[0], message_html="<p>a new reply</p>")
    return ids


def deletion_marks(pipeline: Pipeline) -> dict[str, Any]:
    """{issue id: `_deleted_at`} of every stored issue."""
    query = f'SELECT id, _deleted_at FROM "{pipeline.warehouse.schema_name}".issues'
    with pipeline.warehouse.engine.connect() as connection:
        return dict(connection.execute(sa.text(query)).all())


def run_deletion_pass(pipeline: Pipeline) -> dg.ExecuteInProcessResult:
    """The deletion job alone, as its schedule runs it; a failure is returned, not raised."""
    job = pipeline.defs.resolve_job_def("pylon_issue_deletions_job")
    return job.execute_in_process(instance=pipeline.instance, raise_on_error=False)


def run_deletion_pass_without_retries(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> dg.JobExecutionResult:
    """The deletion job in this process on the pipeline's emulator, warehouse and instance, with
    no step retry: a failure fails the run at once instead of waiting out the assets'
    `RetryPolicy`. A failure is returned, not raised."""
    pylon = emulator_resource(pipeline.server, pipeline.warehouse)
    monkeypatch.setenv(RESOURCE_VAR, resource_settings(pylon))
    with dg.execute_job(
        reconstructable_job("pylon_issue_deletions_job"),
        pipeline.instance,
        run_config=NO_STEP_RETRIES_IN_PROCESS,
    ) as result:
        return result


def deletion_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The metadata of the deletion pass's materialization in `result`."""
    metadata = deletion_pass_metadata(result)
    assert metadata is not None, "the run made no deletion pass"
    return metadata
