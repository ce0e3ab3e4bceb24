"""Asset jobs: what schedules, sensors and the headless sync launch."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.assets.analytics import ACCOUNT_SUMMARY, DAILY_METRICS
from pylon_dagster.assets.issue_deletions import ISSUE_DELETIONS
from pylon_dagster.streams import ISSUES_GROUP, KNOWLEDGE_BASE_GROUP, REFERENCE_GROUP

DELETIONS_SELECTION = dg.AssetSelection.assets(ISSUE_DELETIONS)
ISSUES_SELECTION = dg.AssetSelection.groups(ISSUES_GROUP) - DELETIONS_SELECTION
REFERENCE_SELECTION = dg.AssetSelection.groups(REFERENCE_GROUP, KNOWLEDGE_BASE_GROUP)

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

jobs = [issues_job, reference_job, issue_deletions_job, daily_metrics_job, account_summary_job]
