"""The few Dagster internals this project relies on, in one place.

Dagster has no public names for the run tags that make one run cover a partition range, for its
cron validation and tick arithmetic, for the signal it holds back during a step, nor for an
instance without compute-log capture; they are imported here only, so a Dagster upgrade that
moves them breaks one small module.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent, DagsterEventType
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._utils.interrupts import check_captured_interrupt
from dagster._utils.schedules import is_valid_cron_string, reverse_cron_string_iterator
from dagster_postgres import PostgresEventLogStorage
from dagster_shared.error import SerializableErrorInfo

STOP_SIGNALS = (KeyboardInterrupt, DagsterExecutionInterruptedError)
"""What a SIGINT or SIGTERM raises inside a step."""

__all__ = [
    "STOP_SIGNALS",
    "SerializableErrorInfo",
    "cron_ticks_before",
    "day_range_tags",
    "interrupt_requested",
    "is_valid_cron",
    "mark_unmaterialized_partitions",
    "one_planned_event_per_asset",
    "partition_range",
    "request_stop",
    "runs_side_by_side",
    "threaded_runs_instance",
]

_stop_requested = threading.Event()
NO_CAPTURE = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


def day_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partition keys `first` through `last`."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def partition_range(tags: dict[str, str]) -> tuple[str, str] | None:
    """The (first, last) partition keys a run's tags name, if they name a range."""
    first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return (first, last) if first and last else None


def is_valid_cron(cron: str) -> bool:
    return is_valid_cron_string(cron)


def cron_ticks_before(cron: str, moment: datetime) -> Iterator[datetime]:
    """The ticks of `cron` (UTC) at or before `moment`, newest first, as the schedules see them."""
    return reverse_cron_string_iterator(moment.timestamp(), cron, "UTC")


def interrupt_requested() -> bool:
    """Whether Dagster caught a SIGINT or SIGTERM it has not acted on yet, or `request_stop` was
    called since the last `request_stop(False)`.

    While a step runs, Dagster holds those signals back until the step ends; a step blocked on
    Pylon's budget for minutes would keep a stop request waiting that long. Runs executed in
    threads (the headless sync's) get no signal at all: the main thread asks them to stop.
    """
    return check_captured_interrupt() or _stop_requested.is_set()


def request_stop(stop: bool = True) -> None:
    """Ask every run of this process to stop (`interrupt_requested`), or forget that request."""
    if stop:
        _stop_requested.set()
    else:
        _stop_requested.clear()


def threaded_runs_instance(home: Path) -> dg.DagsterInstance:
    """The instance of `home`, without capturing the runs' stdout and stderr.

    Dagster captures a run's output by pointing file descriptors 1 and 2 at its compute-log files
    for the run's length: runs executed side by side in threads of one process would take the
    descriptors from each other (and leave them pointing at a finished run's file). Safe for runs
    in threads otherwise too (below).
    """
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=NO_CAPTURE))
    # Every run's setup reads the Python log handlers of dagster.yaml with `logging.dictConfig`,
    # which closes every handler of the process under logging's global lock: beside a run that is
    # emitting an event (holding its handler's lock, then asking for the global one) it deadlocks.
    # Read once here, they are the same handlers for every run.
    handlers = instance.get_yaml_python_handlers()
    instance.get_yaml_python_handlers = lambda: handlers  # type: ignore[method-assign]
    return instance


def runs_side_by_side(instance: dg.DagsterInstance) -> bool:
    """Whether runs of `instance` may execute in threads of one process at once: only on Postgres
    storage. SQLite (a state folder's home made before its storage moved to Postgres, or an
    ephemeral instance in memory) takes one writer at a time."""
    return isinstance(instance.event_log_storage, PostgresEventLogStorage)


PLANNED_SUBSET_VAR = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


@contextmanager
def one_planned_event_per_asset() -> Iterator[None]:
    """While the block runs, a run of this process announces each asset's partitions in one
    planned event instead of one per partition (Dagster reads the variable at each run's start).

    A third of a 30-day window's events, and more of their cost. The price: Dagster's UI does not
    show the partitions of such a run in progress, so it is for the headless sync (which shows
    its own progress), never for the runs of `dagster dev`. A failed run's partitions are marked
    failed by `mark_unmaterialized_partitions`.
    """
    before = os.environ.get(PLANNED_SUBSET_VAR)
    os.environ[PLANNED_SUBSET_VAR] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PLANNED_SUBSET_VAR, None)
        else:
            os.environ[PLANNED_SUBSET_VAR] = before


def mark_unmaterialized_partitions(instance: dg.DagsterInstance, run_id: str) -> None:
    """Announce one by one the partitions a run planned as a whole and did not materialize.

    Dagster tells a failed partition by a planned event for that partition in a failed run: with
    `one_planned_event_per_asset` a failed run's partitions would read as missing. Call it for a
    run that failed (a stopped, canceled run marks nothing).
    """
    planned = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    materialized = {
        (event.asset_key, event.partition)
        for record in instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        if (event := record.event_log_entry.dagster_event) is not None
    }
    for record in planned:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event else None
        if not isinstance(data, AssetMaterializationPlannedData) or data.partitions_subset is None:
            continue
        for key in data.partitions_subset.get_partition_keys():
            if (data.asset_key, key) in materialized:
                continue
            one = AssetMaterializationPlannedData(data.asset_key, partition=key)
            instance.report_dagster_event(
                DagsterEvent.build_asset_materialization_planned_event(
                    event.job_name, event.step_key, one
                ),
                run_id=run_id,
                log_level=logging.DEBUG,
            )
