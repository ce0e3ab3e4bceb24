"""Runs over daily partitions that sensors request: one run per stretch of consecutive days."""

from collections.abc import Iterable

import dagster as dg

from pylon_dagster.assets.partitions import MAX_DAYS_PER_RUN, day_runs
from pylon_dagster.dagster_adapter import day_range_tags


def day_run_requests(
    keys: Iterable[str],
    *,
    run_key_suffix: str,
    max_days: int | None = MAX_DAYS_PER_RUN,
    job_name: str | None = None,
) -> list[dg.RunRequest]:
    """One run per stretch of consecutive days, at most `max_days` each (None: any length), the
    way a backfill batches them. The run key names the days and `run_key_suffix` (what the runs
    were requested for), so the same request is never launched twice."""
    return [
        dg.RunRequest(
            run_key=f"{days[0]}@{run_key_suffix}", partition_key=days[0], job_name=job_name
        )
        if len(days) == 1
        else dg.RunRequest(
            run_key=f"{days[0]}..{days[-1]}@{run_key_suffix}",
            tags=day_range_tags(days[0], days[-1]),
            job_name=job_name,
        )
        for days in day_runs(keys, max_days)
    ]
