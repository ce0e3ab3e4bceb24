"""Asset jobs: what schedules, sensors and the headless sync launch."""

from __future__ import annotations

import dagster as dg

from pylon_dagster.assets.common import KEY_PREFIX
from pylon_dagster.assets.issue_deletions import ISSUE_DELETIONS
from pylon_dagster.assets.issues import ISSUES

DELETIONS_SELECTION = dg.AssetSelection.assets(ISSUE_DELETIONS)
ISSUES_SELECTION = dg.AssetSelection.assets(ISSUES).downstream(depth=1) - DELETIONS_SELECTION
REFERENCE_SELECTION = (
    dg.AssetSelection.key_prefixes([KEY_PREFIX]) - ISSUES_SELECTION - DELETIONS_SELECTION
)

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

issue_deletions_job = dg.define_asset_job(
    "pylon_issue_deletions_job",
    selection=DELETIONS_SELECTION,
    description="Marks the stored issues Pylon no longer has (`issues._deleted_at`).",
)

jobs = [issues_job, reference_job, issue_deletions_job]
