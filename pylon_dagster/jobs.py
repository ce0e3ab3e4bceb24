"""Asset jobs: what schedules, sensors and the headless sync launch."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.assets.analytics import ACCOUNT_SUMMARY, DAILY_METRICS
from pylon_dagster.assets.issue_deletions import ISSUE_DELETIONS
from pylon_dagster.catalog.streams import ISSUES_GROUP, KNOWLEDGE_BASE_GROUP, REFERENCE_GROUP

RUN_EXECUTOR = dg.in_process_executor
"""Every run executes its steps one after another in its run worker, as the headless sync does.
Dagster's default starts a process per step (about 2 s each, importing Dagster and the code
location again), which is most of the time of the small runs a deployment makes all day (a
webhook's partition, a sensor's day, a day of metrics); a run's steps mostly wait on each other
anyway (`issues`, then its children), and Pylon's budget, shared by every process, is what paces
large runs."""

DELETIONS_SELECTION = dg.AssetSelection.assets(ISSUE_DELETIONS)
ISSUES_SELECTION = dg.AssetSelection.groups(ISSUES_GROUP) - DELETIONS_SELECTION
REFERENCE_SELECTION = dg.AssetSelection.groups(REFERENCE_GROUP, KNOWLEDGE_BASE_GROUP)
SYNCED_SELECTION = dg.AssetSelection.groups(ISSUES_GROUP) | REFERENCE_SELECTION
"""The synced tables and the deletion pass, which has no check: by group only, so that it names
no asset an instance may leave out (`assemble.py` leaves out a job that does)."""

issues_job = dg.define_asset_job(
    "pylon_issues_job",
    selection=ISSUES_SELECTION,
    description="Issues updated in the partitions' days, then their messages and threads.",
)

reference_job = dg.define_asset_job(
    "pylon_reference_job",
    selection=REFERENCE_SELECTION,
    description="Full refresh of the reference streams and the knowledge base.",
)

daily_metrics_job = dg.define_asset_job(
    "pylon_daily_metrics_job",
    selection=dg.AssetSelection.assets(DAILY_METRICS),
    description="Support metrics of the partitions' days, from the warehouse.",
)

account_summary_job = dg.define_asset_job(
    "pylon_account_summary_job",
    selection=dg.AssetSelection.assets(ACCOUNT_SUMMARY),
    description="The per-account support summary the issue sidebar shows.",
)

issue_deletions_job = dg.define_asset_job(
    "pylon_issue_deletions_job",
    selection=DELETIONS_SELECTION,
    description="Marks the stored issues Pylon no longer has (`issues._deleted_at`).",
)

warehouse_checks_job = dg.define_asset_job(
    "pylon_warehouse_checks_job",
    # The checks of the synced tables, without the tables themselves.
    selection=SYNCED_SELECTION - SYNCED_SELECTION.without_checks(),
    description="The checks of the synced tables, over whole tables: a run of partitions checks "
    "only its days (`assets/checks.py`).",
)

jobs = [
    issues_job,
    reference_job,
    issue_deletions_job,
    daily_metrics_job,
    account_summary_job,
    warehouse_checks_job,
]
