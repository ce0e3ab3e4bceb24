"""The headless sync: every asset materialized with Dagster's own execution APIs, no daemon needed.

Reference streams and the knowledge base run once; `issues` (with its messages and threads) runs
once per chunk of at most 30 daily partitions, the same batching a UI backfill uses, so every run
covers at most one API search window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from pylon_dagster.assets.partitions import MAX_DAYS_PER_RUN, issue_partitions
from pylon_dagster.jobs import issues_job, reference_job
from pylon_dagster.settings import ConfigError

Echo = Callable[[str], None]
# Progress is one line per run; Dagster's own step-by-step events stay in the run's event log.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class SyncRun:
    """One Dagster run of the sync and how it ended."""

    label: str
    run_id: str
    success: bool
    error: str | None = None


def partition_chunks(start: date | None, end: date | None) -> list[list[str]]:
    """The issue partition keys from `start` to `end` (inclusive), in chunks of <= 30 days."""
    keys = issue_partitions().get_partition_keys()
    first, last = (start.isoformat() if start else keys[0]), (end.isoformat() if end else keys[-1])
    if first > last:
        raise ConfigError(f"--start {first} is after --end {last}: swap them.")
    if first < keys[0]:
        raise ConfigError(
            f"--start {first} is before the first partition {keys[0]}. Set PYLON_START_DATE to "
            f"{first} (or earlier) to sync that far back."
        )
    selected = [key for key in keys if first <= key <= last]
    return [selected[i : i + MAX_DAYS_PER_RUN] for i in range(0, len(selected), MAX_DAYS_PER_RUN)]


def run_sync(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    start: date | None = None,
    end: date | None = None,
    echo: Echo = print,
) -> list[SyncRun]:
    """Materialize every asset; stops at the first failed run and returns what ran."""
    chunks = partition_chunks(start, end)
    runs: list[SyncRun] = []
    for run in _runs(defs, instance, chunks):
        runs.append(run)
        echo(f"{run.label}: {'ok' if run.success else 'FAILED'} (run {run.run_id})")
        if not run.success:
            echo(f"  {run.error}")
            break
    return runs


def _runs(
    defs: dg.Definitions, instance: dg.DagsterInstance, chunks: Sequence[Sequence[str]]
) -> Iterator[SyncRun]:
    yield _execute(defs, instance, reference_job.name, "reference streams and knowledge base", {})
    for chunk in chunks:
        tags = {ASSET_PARTITION_RANGE_START_TAG: chunk[0], ASSET_PARTITION_RANGE_END_TAG: chunk[-1]}
        label = f"issues {chunk[0]} .. {chunk[-1]} ({len(chunk)} days)"
        yield _execute(defs, instance, issues_job.name, label, tags)


def _execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    label: str,
    tags: dict[str, str],
) -> SyncRun:
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config=QUIET_LOGS, instance=instance, tags=tags, raise_on_error=False
    )
    return SyncRun(label, result.run_id, result.success, None if result.success else _error(result))


def _error(result: dg.ExecuteInProcessResult) -> str:
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            cause = error.cause.message.strip() if error.cause else ""
            return f"{event.step_key}: {error.message.strip()} {cause}".strip()
    return "the run failed without a step failure; see the run in the Dagster UI"
