"""How `issues` and its children are partitioned, and how runs map onto Pylon's 30-day windows.

Dagster cannot express fixed 30-day partitions (cron has no "every 30 days"), so partitions are
daily and a backfill policy batches at most 30 of them into one run: one run, one search window.
"""

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import dagster as dg

MAX_DAYS_PER_RUN = 30


def issue_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    """Daily UTC partitions from `start_date` (`Settings.start_date`) through today (today is in
    progress)."""
    return dg.DailyPartitionsDefinition(
        start_date=start_date.isoformat(), timezone="UTC", end_offset=1
    )


ISSUE_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)


def day_runs(keys: Iterable[str], max_days: int | None = MAX_DAYS_PER_RUN) -> list[list[str]]:
    """Daily partition keys grouped the way a backfill runs them: stretches of consecutive days,
    at most `max_days` each (by default one search window; None: stretches of any length)."""
    runs: list[list[str]] = []
    for key in sorted(set(keys)):
        last = runs[-1] if runs else None
        if (
            last is not None
            and (max_days is None or len(last) < max_days)
            and date.fromisoformat(key) - date.fromisoformat(last[-1]) == timedelta(days=1)
        ):
            last.append(key)
        else:
            runs.append([key])
    return runs


def day_stretches(keys: Iterable[str]) -> list[tuple[str, str]]:
    """Daily partition keys as (first, last) stretches of consecutive days: a compact record of
    any set of days (`stretch_days` reads it back)."""
    return [(run[0], run[-1]) for run in day_runs(keys, max_days=None)]


def stretch_days(stretches: Iterable[Sequence[str]]) -> list[str]:
    """Every day key of (first, last) stretches, in order."""
    days: set[str] = set()
    for first, last in stretches:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            days.add(day.isoformat())
            day += timedelta(days=1)
    return sorted(days)
