"""How `issues` and its children are partitioned, and how runs map onto Pylon's 30-day windows.

Dagster cannot express fixed 30-day partitions (cron has no "every 30 days"), so partitions are
daily and a backfill policy batches at most 30 of them into one run: one run, one search window.
"""

from functools import cache

import dagster as dg

from pylon_dagster.settings import start_date

MAX_DAYS_PER_RUN = 30


@cache
def issue_partitions() -> dg.DailyPartitionsDefinition:
    """Daily UTC partitions from the configured start date through today (today is in progress)."""
    return dg.DailyPartitionsDefinition(
        start_date=start_date().isoformat(), timezone="UTC", end_offset=1
    )


ISSUE_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)
